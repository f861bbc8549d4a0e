from django.http import HttpRequest

from portal.permissions import actor_for


def navigation(request: HttpRequest) -> dict[str, object]:
    """The signed-in person's roles, so the layout can show the navigation that fits them."""
    return {"actor": actor_for(request.user)} if hasattr(request, "user") else {}

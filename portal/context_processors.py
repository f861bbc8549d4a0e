from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from access.notifications import unread_count
from portal.permissions import actor_for


def navigation(request: HttpRequest) -> dict[str, object]:
    """The signed-in person's roles, so the layout can show the navigation that fits them, and
    their unread notifications (one indexed COUNT, run only if the page shows it)."""
    if not hasattr(request, "user"):
        return {}
    context: dict[str, object] = {"actor": actor_for(request.user)}
    if request.user.is_authenticated:
        context["unread_notifications"] = SimpleLazyObject(lambda: unread_count(request.user))
    return context

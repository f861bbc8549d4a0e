from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from portal.permissions import actor_for


def _unread(user: AbstractBaseUser) -> int:
    from portal.access.notifications import unread_count

    return unread_count(user)


def navigation(request: HttpRequest) -> dict[str, object]:
    """The signed-in person's roles, so the layout can show the navigation that fits them, and
    their unread notifications (one indexed COUNT, run only if the page shows it)."""
    if not hasattr(request, "user"):
        return {}
    context: dict[str, object] = {"actor": actor_for(request.user)}
    user = request.user
    if user.is_authenticated:
        context["unread_notifications"] = SimpleLazyObject(lambda: _unread(user))
    return context

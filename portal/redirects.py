"""Where a `next` parameter may send someone: only to this site (`url_has_allowed_host_and_scheme`
against the request's own host and ALLOWED_HOSTS, https only when the request was), never to
another site a link or a form put there (an open redirect)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, default: str) -> str:
    """The request's `next` (form field, else query string) if it stays on this site, else
    `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = {request.get_host(), *(h for h in settings.ALLOWED_HOSTS if h != "*")}
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts=allowed, require_https=request.is_secure()
    ):
        return target
    return default

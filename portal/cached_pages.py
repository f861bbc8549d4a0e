"""Signed-in pages and API lists cached per person, under section versions (cache_versions.py).

A cached response is served only to the person it was computed for, for the exact URL it was
computed for, under the versions of the sections it reads (any change to them bumps one), and
only by the code that computed it (the key names a digest of the modules and templates).
Authentication and permission checks run on every request; the queries, the templates, the
serializer and the renderer do not.

Pages (`serve`): never cached for anonymous visitors, requests with messages to show
(rendering consumes them) or anything but a 200, and only until the next moment the page would
change by itself (`valid_until`). The CSRF token is not part of the cached bytes: the page is
rendered with a placeholder, and every response gets a freshly masked token from the request's
own CSRF secret, exactly as a rendered page would (so the cookie, its renewal and
`Vary: Cookie` are unchanged too).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework.request import Request
from rest_framework.response import Response

from portal import cache_versions

# A response this old is dropped even if nothing changed: it only bounds what the cache keeps.
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class _Entry:
    user_id: int
    content: bytes
    content_type: str
    valid_until: datetime | None = None


@functools.cache
def release() -> str:
    """A digest of the project's code and templates: a deploy never serves old responses."""
    root = Path(settings.BASE_DIR).resolve()
    folders = {root / "templates"}
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if path.is_relative_to(root) and ".venv" not in path.parts:
            folders.add(path)
    digest = hashlib.sha256()
    for folder in sorted(folders):
        for path in sorted(folder.rglob("*")):
            if path.suffix in {".py", ".html"} and "tests" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def _placeholder() -> bytes:
    # Derived from SECRET_KEY so that no text a user can put on a page (an institution's name)
    # can be this placeholder and be replaced by another person's token.
    return salted_hmac("bizi.cached_pages.csrf", "placeholder").hexdigest().encode()


def _with_token(request: HttpRequest, content: bytes) -> bytes:
    return content.replace(_placeholder(), get_token(request).encode())


def serve(
    request: HttpRequest,
    *,
    name: str,
    sections: Sequence[str],
    render: Callable[[dict[str, object]], HttpResponse],
    valid_until: Callable[[], datetime | None],
) -> HttpResponse:
    """The page `render` makes for this person, from the cache when that cannot be stale.

    `sections` are those whose data the page shows; `render(extra_context)` renders the page
    with `extra_context` added to its context; `valid_until()` gives the next moment the page
    changes with no write (None: never).
    """
    user = request.user
    if not user.is_authenticated or len(get_messages(request)) > 0:
        return render({})
    key = f"page:{name}:{release()}:{user.pk}:{request.path}"
    full_key, entry = cache_versions.lookup(sections, key)
    if (
        isinstance(entry, _Entry)
        and entry.user_id == user.pk
        and (entry.valid_until is None or timezone.now() < entry.valid_until)
    ):
        return HttpResponse(_with_token(request, entry.content), content_type=entry.content_type)
    if full_key is None:
        return render({})
    # Before rendering: a boundary that passes while the page renders leaves it already invalid.
    until = valid_until()
    response = render({"csrf_token": _placeholder().decode()})
    if response.status_code == 200 and not response.streaming and not response.cookies:
        entry = _Entry(user.pk, response.content, response["Content-Type"], until)
        cache_versions.store(full_key, entry, TIMEOUT_SECONDS)
    if not response.streaming:
        response.content = _with_token(request, response.content)
    return response


class CachedListMixin:
    """For a `ListAPIView` whose results change only with the sections in `cache_sections`.

    Scripts poll the same lists again and again; between two changes the answer is the same.
    """

    cache_sections: Sequence[str] = ()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return super().list(request, *args, **kwargs)  # type: ignore[misc]
        # The rendered bytes depend on the URL (links name the host) and on the negotiated
        # media type (`application/json; indent=4` indents).
        variant = f"{request.build_absolute_uri()}\n{request.accepted_media_type}"
        digest = hashlib.sha256(variant.encode()).hexdigest()
        key = f"api:{type(self).__name__}:{release()}:{user.pk}:{digest}"
        full_key, entry = cache_versions.lookup(self.cache_sections, key)
        if isinstance(entry, _Entry) and entry.user_id == user.pk:
            return HttpResponse(entry.content, content_type=entry.content_type)
        response = super().list(request, *args, **kwargs)  # type: ignore[misc]
        if full_key is not None and response.status_code == 200:

            def keep(rendered: Response) -> None:
                entry = _Entry(user.pk, rendered.content, rendered["Content-Type"])
                cache_versions.store(full_key, entry, TIMEOUT_SECONDS)

            response.add_post_render_callback(keep)
        return response

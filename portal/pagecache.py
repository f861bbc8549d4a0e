"""Signed-in pages cached per person, under the data generation (portal/generation.py).

A cached page is served only to the person it was rendered for, only under the generation it
was rendered in (any committed write anywhere replaces that), only before the next moment the
page would change by itself (`valid_until`), and only by the code that rendered it (the key
names a digest of the templates and modules). Never cached: anonymous visitors, requests with
messages to show (rendering consumes them), anything but a 200.

The CSRF token is not part of the cached bytes: the page is rendered with a placeholder, and
every response gets a freshly masked token from the request's own CSRF secret, exactly as a
rendered page would (so the cookie, its renewal and `Vary: Cookie` are unchanged too).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal import generation

# A page this old is dropped even if nothing changed: it only bounds what the cache keeps.
TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class _Entry:
    user_id: int
    content: bytes
    content_type: str
    valid_until: datetime | None


@functools.cache
def _placeholder() -> bytes:
    # Derived from SECRET_KEY so that no text a user can put on a page (an institution's name)
    # can be this placeholder and be replaced by another person's token.
    return salted_hmac("bizi.pagecache.csrf", "placeholder").hexdigest().encode()


@functools.cache
def release() -> str:
    """A digest of the code and templates that render pages: a deploy never serves old pages."""
    digest = hashlib.sha256()
    root = Path(settings.BASE_DIR)
    for folder in ("portal", "ledger", "surveys", "storage", "templates"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix in {".py", ".html"} and "tests" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _has_messages(request: HttpRequest) -> bool:
    storage = getattr(request, "_messages", None)
    return storage is not None and len(storage) > 0


def _with_token(request: HttpRequest, content: bytes) -> bytes:
    return content.replace(_placeholder(), get_token(request).encode())


def serve(
    request: HttpRequest,
    *,
    name: str,
    render: Callable[[dict[str, object]], HttpResponse],
    valid_until: Callable[[], datetime | None],
) -> HttpResponse:
    """The page `render` makes for this person, from the cache when that cannot be stale.

    `render(extra_context)` renders the page with `extra_context` added to its context;
    `valid_until()` gives the next moment the page changes with no write (None: never).
    """
    user = request.user
    gen = None
    if user.is_authenticated:
        # The generation read when the user was loaded, if it was: an earlier one is as good.
        gen = getattr(user, "_bizi_generation", None) or generation.current()
    if gen is None or _has_messages(request):
        return render({})
    key = f"bizi:page:{name}:{release()}:{user.pk}:{request.path}:{gen}"
    entry = generation.cached(key)
    if (
        isinstance(entry, _Entry)
        and entry.user_id == user.pk
        and (entry.valid_until is None or timezone.now() < entry.valid_until)
    ):
        return HttpResponse(_with_token(request, entry.content), content_type=entry.content_type)
    # Before rendering: a boundary that passes while the page renders leaves it already invalid.
    until = valid_until()
    response = render({"csrf_token": _placeholder().decode()})
    if response.status_code == 200 and not response.streaming and not response.cookies:
        entry = _Entry(user.pk, response.content, response["Content-Type"], until)
        generation.store(key, entry, TIMEOUT_SECONDS)
    if not response.streaming:
        response.content = _with_token(request, response.content)
    return response

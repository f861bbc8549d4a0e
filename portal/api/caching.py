"""API lists served from the cache, per person, under the data generation (portal/generation.py).

Scripts poll the same lists again and again; between two writes the answer cannot change. A
cached page of results is served only to the person it was computed for, for the exact URL
(host, path, filters, page) it was computed for, under the generation it was computed in, and
by the code that computed it. Authentication and the view's permission checks run on every
request; the queryset, the count, the filtering, the serializer and the renderer are not.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response

from portal import generation, pagecache

CACHE_SECONDS = 600


@dataclass(frozen=True)
class _Entry:
    user_id: int
    content: bytes
    content_type: str


class CachedListMixin:
    """For a `ListAPIView` whose results depend on nothing that changes without a write."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = request.user
        gen = None
        if user.is_authenticated:
            # The generation the token or session user was read under, if any: an earlier one
            # is as good (what is cached under it was true when it was read).
            gen = getattr(user, "_bizi_generation", None) or generation.current()
        if gen is None:
            return super().list(request, *args, **kwargs)  # type: ignore[misc]
        # The rendered bytes depend on the URL (links name the host) and on the negotiated
        # media type (`application/json; indent=4` indents).
        variant = f"{request.build_absolute_uri()}\n{request.accepted_media_type}"
        digest = hashlib.sha256(variant.encode()).hexdigest()
        key = f"bizi:api:{type(self).__name__}:{pagecache.release()}:{user.pk}:{digest}:{gen}"
        entry = generation.cached(key)
        if isinstance(entry, _Entry) and entry.user_id == user.pk:
            return HttpResponse(entry.content, content_type=entry.content_type)
        response = super().list(request, *args, **kwargs)  # type: ignore[misc]
        if response.status_code == 200:

            def keep(rendered: Response) -> None:
                entry = _Entry(user.pk, rendered.content, rendered["Content-Type"])
                generation.store(key, entry, CACHE_SECONDS)

            response.add_post_render_callback(keep)
        return response

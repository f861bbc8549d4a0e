"""A small fixed-window counter in the shared cache (settings.CACHES default).

For what the lockout does not cover because no password is tried: password reset e-mails, per
client address and per e-mail address. Every web process shares the cache, so the count is the
portal's, not one process's.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def allow(scope: str, subject: str, *, limit: int, window: int) -> bool:
    """Count one more event of `scope` for `subject`; False once `limit` are in this window."""
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]  # no addresses as cache keys
    key = f"bizi:ratelimit:{scope}:{digest}"
    cache.add(key, 0, timeout=window)  # starts the window; a no-op while one runs
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= limit

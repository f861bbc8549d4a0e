"""The data generation: a token in the shared cache that changes after every committed write.

Whatever is cached under the current generation (a rendered home page, a token's owner) can
never be stale: any INSERT, UPDATE or DELETE that Django runs, in any process (web, Celery
worker, management command, admin), replaces the token once its transaction commits, so the
next reader looks under a new key. Hooking the database connection rather than naming the
services that change state means a new feature cannot forget to invalidate: notifications
written with `bulk_create`, `QuerySet.update()` (expiry, marking read), the worker's ledger
appends and survey snapshots all count.

Rules that keep this exact:
- The generation is read *before* the data it keys, so a page rendered from data older than a
  commit is stored under the generation from before that commit's bump, which no later reader
  asks for.
- A missing token (evicted, cache cleared, restarted) is replaced by a new random one, never by
  a counter that could repeat an old value.
- Inside a transaction of the application's own, readers get no generation (cache nothing):
  they may see their own uncommitted writes, which other readers must not be served.
- The portal uses no manual transactions (`set_autocommit(False)`), whose commit no hook sees.
- Tables whose writes change nothing a cached read shows (sessions, worker heartbeats, the
  cache's own table) do not count, and `unobserved()` marks a write that changes nothing shown
  (the time an API token was last used), so those never empty the cache.

Every process must share the cache (CACHE_URL): a per-process cache would keep serving one
process's pages after another process's writes, so settings turn page caching off for one.
"""

from __future__ import annotations

import logging
import pickle
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

log = logging.getLogger(__name__)

KEY = "bizi:generation"

# Statements that only read (or manage the transaction); anything else counts as a write, so an
# unusual statement errs towards emptying the cache, never towards a stale page.
_READ = re.compile(
    r"\s*(?:SELECT|SAVEPOINT|RELEASE|ROLLBACK|COMMIT|BEGIN|SET|SHOW|PRAGMA|EXPLAIN)\b",
    re.IGNORECASE,
)
_TABLE = re.compile(r'\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[`"]?(\w+)', re.IGNORECASE)

_local = threading.local()


def _ignored_tables() -> frozenset[str]:
    tables = {"django_session", "portal_workerheartbeat"}
    # The lockout's records (django-axes) are on no cached page: a password guesser must not
    # empty everyone's cache with every guess.
    tables |= {"axes_accessattempt", "axes_accessattemptexpiration", "axes_accesslog"}
    tables.add("axes_accessfailurelog")
    # A database cache writes its own table on every set; that must not bump the generation.
    for config in settings.CACHES.values():
        if config.get("BACKEND", "").endswith("DatabaseCache"):
            tables.add(config["LOCATION"])
    return frozenset(tables)


def enabled() -> bool:
    return bool(getattr(settings, "BIZI_PAGE_CACHE", False))


def current(using: str = "default") -> str | None:
    """The generation to key cached reads with, or None when nothing may be cached now."""
    if not enabled():
        return None
    connection = transaction.get_connection(using)
    if any(not block._from_testcase for block in connection.atomic_blocks):
        return None
    try:
        value = cache.get(KEY)
        if value is None:
            # add() so that of two processes finding it missing, both end up with one token.
            cache.add(KEY, uuid.uuid4().hex, timeout=None)
            value = cache.get(KEY)
    except Exception:  # a cache that is down means no caching, not an error page
        log.warning("cache unavailable; serving uncached", exc_info=True)
        return None
    return value


def bump() -> None:
    """Start a new generation: everything cached under the old one is never read again."""
    try:
        cache.set(KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        log.exception("could not start a new cache generation")


# Entries keyed by a generation never change: whoever computes one under a given key computes
# the same thing. So besides the shared cache, each process keeps the latest few it read or
# wrote, and a request pays one shared read (the generation) instead of one per entry. Kept as
# pickles, so that each request gets its own copy of a user or token to set attributes on.
LOCAL_ENTRIES = 1000
LOCAL_SECONDS = 60.0
_memo: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
_memo_lock = threading.Lock()


def _remember(key: str, value: Any) -> None:
    blob = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
    with _memo_lock:
        _memo[key] = (time.monotonic() + LOCAL_SECONDS, blob)
        _memo.move_to_end(key)
        while len(_memo) > LOCAL_ENTRIES:
            _memo.popitem(last=False)


def cached(key: str) -> Any:
    """The entry under `key` (which must name the generation), or None.

    From this process's memory if it has it, else from the shared cache, where a cache that is
    down is a miss rather than an error page.
    """
    with _memo_lock:
        found = _memo.get(key)
    if found is not None and found[0] > time.monotonic():
        return pickle.loads(found[1])  # noqa: S301 - our own pickles, made in this process
    try:
        value = cache.get(key)
    except Exception:
        log.warning("cache unavailable; reading %s from the database", key, exc_info=True)
        return None
    if value is not None:
        _remember(key, value)
    return value


def store(key: str, value: Any, timeout: float) -> None:
    """Keep `value` under `key` (which must name the generation), here and in the shared cache."""
    _remember(key, value)
    try:
        cache.set(key, value, timeout)
    except Exception:
        log.warning("cache unavailable; %s not stored", key, exc_info=True)


@contextmanager
def unobserved() -> Iterator[None]:
    """Writes in this block change nothing any cached read shows; they keep the generation."""
    previous = getattr(_local, "quiet", False)
    _local.quiet = True
    try:
        yield
    finally:
        _local.quiet = previous


def _is_write(sql: str) -> bool:
    if _READ.match(sql):
        return False
    table = _TABLE.match(sql)
    return table is None or table.group(1) not in _ignored_tables()


def _after_write(connection: BaseDatabaseWrapper) -> None:
    app_blocks = [b for b in connection.atomic_blocks if not b._from_testcase]
    # Once per transaction; a callback dropped with a rolled-back savepoint is registered again
    # by the next write, because the scan looks at what is still pending.
    if app_blocks and not any(callback is bump for _, callback, _ in connection.run_on_commit):
        connection.on_commit(bump, robust=True)
    if not app_blocks or len(app_blocks) < len(connection.atomic_blocks):
        # Autocommit: the write is committed already. Under a test's transaction, which never
        # commits, the write is as good as committed for everything the test reads next.
        bump()


def observe(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """An execute wrapper (installed on every connection by PortalConfig.ready)."""
    result = execute(sql, params, many, context)
    if (
        enabled()
        and not getattr(_local, "quiet", False)
        and _is_write(sql)
        and not _changed_nothing(sql, context["cursor"])
    ):
        _after_write(context["connection"])
    return result


def _changed_nothing(sql: str, cursor: Any) -> bool:
    """True only for a statement known to have changed no row: beat's periodic conditional
    UPDATEs, mostly. With RETURNING, SQLite counts rows only as they are fetched, so its 0 means
    nothing yet; -1 (DDL, unknown) is a change."""
    return cursor.rowcount == 0 and "RETURNING" not in sql.upper()


def install(*, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """connection_created receiver: observe every statement this connection runs."""
    if observe not in connection.execute_wrappers:
        # First, not last: `connection.execute_wrapper()` blocks pop the last one on exit, and a
        # connection may be opened inside such a block.
        connection.execute_wrappers.insert(0, observe)

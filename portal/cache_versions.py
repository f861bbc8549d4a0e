"""Per-section version keys: what lets a cached read be reused, and be dropped after a change.

The data that cached reads show is split into a few sections (SECTION_TABLES). Each section has
a version in the shared cache: a random token that `bump(section)` replaces whenever the
section's rows change. A cached entry names the sections it was computed from, and its key holds
their versions, so after a change the next reader looks under a new key and computes afresh; the
old entry is never read again and ages out.

Who bumps:
- Saving or deleting a model whose table is in SECTION_TABLES bumps its section (the receivers
  that `connect()` installs): services that save, the admin, Django's password forms, factories.
- Writes that send no signal (`QuerySet.update()`, `bulk_create()`, `bulk_update()`) are
  followed by `bump(section)` in the service that makes them. A write around the services
  and `save()` (a shell, raw SQL) is not seen: bump by hand after it
  (`python manage.py shell -c "from portal import cache_versions; cache_versions.bump_all()"`).

Rules that keep this exact:
- `bump()` replaces the version at once (so the writer's own next read misses, and a test's
  transaction, which never commits, sees its writes) and again after the transaction commits
  (so a reader elsewhere that read the old rows while the transaction was open, and stored
  what it read under the first new version, is never read again). A rollback leaves only a
  version no entry was computed from the rolled-back rows under.
- Nothing reads through this cache inside a transaction of its own after writing: the cached
  reads are the signed-in user, the API token, and GET responses (ATOMIC_REQUESTS is off).
- Versions are read before the data they key: an entry computed from rows older than a change
  is stored under a version from before that change's bump.
- A missing version (evicted, cache cleared) is replaced by a new random one, never by a
  counter that could repeat an old value.
- Every process must share the cache (CACHE_URL): a per-process cache never hears of another
  process's bumps, so `enabled()` is False for one unless settings say the process is alone
  (BIZI_PAGE_CACHE, the tests).
"""

from __future__ import annotations

import logging
import pickle
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

log = logging.getLogger(__name__)

T = TypeVar("T")

# What each section holds, by table (tables stay when models move between apps). A table in no
# section is on no cached page: sessions, heartbeats, the lockout's records, storage, sharing.
SECTION_TABLES: dict[str, frozenset[str]] = {
    # Who someone is: the signed-in user and API token loads, and the people counts.
    "consortium": frozenset(
        {
            "auth_user",
            "portal_institution",
            "portal_membership",
            "portal_consortiumrole",
            "portal_apitoken",
        }
    ),
    # Requests, grants and notifications; datasets, which the request counts join.
    "access": frozenset(
        {"portal_accessrequest", "portal_grant", "portal_notification", "portal_dataset"}
    ),
    "surveys": frozenset(
        {
            "surveys_survey",
            "surveys_survey_institutions",
            "surveys_option",
            "surveys_answer",
            "surveys_resultsnapshot",
        }
    ),
    # The audit figures on an auditor's home page.
    "ledger": frozenset({"ledger_entry", "ledger_block", "ledger_verificationrun"}),
}
SECTIONS = tuple(SECTION_TABLES)

_PREFIX = "bizi:version:"


def enabled() -> bool:
    return bool(getattr(settings, "BIZI_PAGE_CACHE", False))


def _check(sections: Iterable[str]) -> tuple[str, ...]:
    names = tuple(sections)
    if not names:
        raise ValueError("name the sections the cached value reads")
    unknown = set(names) - set(SECTION_TABLES)
    if unknown:
        raise ValueError(f"unknown cache sections: {sorted(unknown)}")
    return names


# --- versions -------------------------------------------------------------------------------


# A request reads each section's version once (the user's load and the page both name
# "consortium"): what it reads later is then as of its start, which is as good. Only between
# request_started and request_finished, so a worker or a command reads afresh every time; and
# this thread's own bump() forgets them, so a request sees its own changes.
_request = threading.local()


def _request_started(**kwargs: Any) -> None:
    _request.versions = {}


def _request_finished(**kwargs: Any) -> None:
    _request.versions = None


def versions(sections: Iterable[str]) -> str | None:
    """The versions of `sections`, as one string to put in a key; None if nothing may be cached
    now (caching off, or the cache is down)."""
    names = _check(sections)
    if not enabled():
        return None
    seen: dict[str, str] | None = getattr(_request, "versions", None)
    keys = [_PREFIX + name for name in names]
    found = {key: seen[key] for key in keys if seen is not None and key in seen}
    try:
        missing = [key for key in keys if key not in found]
        if missing:
            found.update(cache.get_many(missing))
        for key in keys:
            if key not in found:
                # add(), so that of two processes finding it missing, both use one token.
                cache.add(key, uuid.uuid4().hex, timeout=None)
                found[key] = cache.get(key)
    except Exception:  # a cache that is down means no caching, not an error page
        log.warning("cache unavailable; serving uncached", exc_info=True)
        return None
    if any(found[key] is None for key in keys):
        return None
    if seen is not None:
        seen.update(found)
    return ".".join(found[key] for key in keys)


def _replace(names: tuple[str, ...]) -> None:
    if getattr(_request, "versions", None):
        _request.versions = {}
    try:
        cache.set_many({_PREFIX + name: uuid.uuid4().hex for name in names}, timeout=None)
    except Exception:
        log.exception("could not bump cache sections %s", names)


def bump(*sections: str, using: str = "default") -> None:
    """Say that `sections` changed: nothing cached under their current versions is read again."""
    names = _check(sections)
    _replace(names)
    if transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(lambda: _replace(names), using=using, robust=True)


def bump_all() -> None:
    bump(*SECTIONS)


# --- cached entries -------------------------------------------------------------------------

# An entry's key names the versions it was computed under, so it never changes. Besides the
# shared cache, each process keeps the latest few entries it read or wrote, and a request pays
# the shared reads of the versions only. Kept as pickles, so each request gets its own copy.
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


def lookup(sections: Iterable[str], key: str) -> tuple[str | None, Any]:
    """(the full key under the sections' current versions, the entry there or None).

    The full key is None when nothing may be cached now; then the entry is None too.
    """
    current = versions(sections)
    if current is None:
        return None, None
    full = f"bizi:{key}:{current}"
    with _memo_lock:
        found = _memo.get(full)
    if found is not None and found[0] > time.monotonic():
        return full, pickle.loads(found[1])  # noqa: S301 - our own pickles, made in this process
    try:
        value = cache.get(full)
    except Exception:
        log.warning("cache unavailable; reading %s from the database", key, exc_info=True)
        return full, None
    if value is not None:
        _remember(full, value)
    return full, value


def store(full_key: str | None, value: Any, timeout: float) -> None:
    """Keep `value` under a key `lookup` returned (nothing if it returned None)."""
    if full_key is None:
        return
    _remember(full_key, value)
    try:
        cache.set(full_key, value, timeout)
    except Exception:
        log.warning("cache unavailable; %s not stored", full_key, exc_info=True)


def cached(sections: Iterable[str], key: str, compute: Callable[[], T], timeout: float) -> T:
    """`compute()`, or what it returned before under the same versions of `sections`.

    `key` must name everything else the value depends on (whose it is, which URL). Values
    that are None are not cached.
    """
    full, value = lookup(sections, key)
    if value is None:
        value = compute()
        if value is not None:
            store(full, value, timeout)
    return value


# --- bumps on save and delete ---------------------------------------------------------------


def _section_of(model: type[Model]) -> str | None:
    table = model._meta.db_table
    return next((name for name, tables in SECTION_TABLES.items() if table in tables), None)


def _changed(sender: type, using: str = "default", **kwargs: Any) -> None:
    section = _section_of(sender)
    if section is not None:
        bump(section, using=using)


def _saved(sender: type, update_fields: Any = None, **kwargs: Any) -> None:
    # Signing in saves `last_login` only, which no cached read shows: it must not empty the
    # cache at every sign-in.
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    _changed(sender, **kwargs)


def _m2m_changed(sender: type, action: str, **kwargs: Any) -> None:
    if action.startswith("post_"):
        _changed(sender, **kwargs)


def connect() -> None:
    """Install the receivers (PortalConfig.ready): read each version once per request (above),
    and bump a model's section when one of its rows is saved or deleted, or when a
    many-to-many set of it changes. Receivers per model, so that models in no section keep
    Django's fast deletes, which a receiver for every model would turn off."""
    request_started.connect(_request_started, dispatch_uid="bizi-cache-versions")
    request_finished.connect(_request_finished, dispatch_uid="bizi-cache-versions")
    for model in apps.get_models(include_auto_created=True):
        if _section_of(model) is None:
            continue
        uid = f"bizi-cache-versions-{model._meta.label}"
        if model._meta.auto_created:  # a many-to-many table: changed through .set(), .add()
            m2m_changed.connect(_m2m_changed, sender=model, dispatch_uid=uid)
            continue
        post_save.connect(_saved, sender=model, dispatch_uid=uid)
        post_delete.connect(_changed, sender=model, dispatch_uid=uid)

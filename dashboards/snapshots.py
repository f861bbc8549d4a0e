"""Reading and writing `DashboardSnapshot` rows, and the JSON their figures travel in.

A snapshot's payload is the figures of one dashboard, dicts or dataclasses. Written, it
becomes JSON with dates and datetimes tagged (`{"$date": "2026-03-02"}`); read with its
`schema`, it is built back into the same dataclasses (`load`), so a page built from a
snapshot is the page built live. Each row carries the `SCHEMA_VERSION` it was written in: a
row of another version is not read, and one whose JSON does not fit the dataclasses after all
is refused too (and logged), so a page is computed afresh rather than drawn from figures of
another layout.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import types
import typing
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from dashboards.models import DashboardSnapshot

log = logging.getLogger(__name__)

# The layout of the payloads' dataclasses. Bump it with any change to them (a field added,
# renamed or retyped, in this app's rows or in the rows other apps' selectors return):
# rows of the previous version are then recomputed instead of read, and the next rebuild
# deletes them. tests/test_snapshot_schema.py pins the fingerprint of each payload's layout
# and fails until the version is bumped with it.
#   1: before the version had a column of its own (it was in the key, "v1:all").
#   2: the same layout as the key's "v2:all", now in the column.
#   3: typed rows (issue 15); a week's requests keep their counts per state in a mapping.
SCHEMA_VERSION = 3
# The filter a snapshot is of: the unfiltered view is the only one the worker computes.
DEFAULT_KEY = "all"

T = TypeVar("T")


class SchemaMismatch(ValueError):
    """A snapshot's JSON does not fit the payload's dataclasses."""


def encode(value: Any) -> Any:
    """`value` as JSON, ready for a JSONField: dataclasses as objects of their fields, dates
    and datetimes tagged."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """The inverse of `encode` without the types: dataclasses come back as dicts (tuples as
    lists)."""
    if isinstance(value, dict):
        if len(value) == 1 and "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if len(value) == 1 and "$date" in value:
            return date.fromisoformat(value["$date"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def load(tp: type[T], value: Any) -> T:
    """The JSON `encode` made of a `tp`, built back into one; `SchemaMismatch` when it does
    not fit `tp` exactly (a field missing or extra, a value of another type)."""
    return _load(tp, value, "payload")


# The JSON types each scalar may come back as (an int is a float as well, not a bool).
_SCALARS: dict[Any, tuple[type, ...]] = {
    int: (int,),
    float: (int, float),
    str: (str,),
    bool: (bool,),
}


def _load(tp: Any, value: Any, where: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        fields = _fields(tp)
        if isinstance(value, dict) and value.keys() == {name for name, _ in fields}:
            return tp(
                **{name: _load(hint, value[name], f"{where}.{name}") for name, hint in fields}
            )
    elif origin is list:
        if isinstance(value, list):
            return [_load(args[0], v, f"{where}[{i}]") for i, v in enumerate(value)]
    elif origin is dict:
        if isinstance(value, dict):
            return {k: _load(args[1], v, f"{where}.{k}") for k, v in value.items()}
    elif origin in (typing.Union, types.UnionType):
        for arg in args:
            try:
                return _load(arg, value, where)
            except SchemaMismatch:
                pass
    elif tp is type(None):
        if value is None:
            return None
    elif tp in (date, datetime):
        tag = "$datetime" if tp is datetime else "$date"
        if isinstance(value, dict) and value.keys() == {tag}:
            return tp.fromisoformat(value[tag])
    elif tp in _SCALARS:
        if type(value) in _SCALARS[tp]:
            return value
    elif tp is Any:
        return decode(value)
    raise SchemaMismatch(f"{where}: {value!r} is no {getattr(tp, '__name__', tp)}")


def layout(tp: Any, seen: tuple[Any, ...] = ()) -> str:
    """A payload type's layout in words: its dataclasses' fields and types, all the way down,
    e.g. `Row(day: date, n: int)`."""
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if tp in seen:
            return tp.__name__
        inner = ", ".join(f"{n}: {layout(h, (*seen, tp))}" for n, h in _fields(tp))
        return f"{tp.__name__}({inner})"
    args = typing.get_args(tp)
    if args:
        origin = typing.get_origin(tp)
        name = "Union" if origin in (typing.Union, types.UnionType) else origin.__name__
        return f"{name}[{', '.join(layout(a, seen) for a in args)}]"
    return getattr(tp, "__name__", repr(tp))


def fingerprint(tp: type) -> str:
    """A short hash of `layout(tp)`: it changes exactly when the JSON `encode` writes of a
    `tp` changes shape."""
    return hashlib.sha256(layout(tp).encode()).hexdigest()[:16]


def max_age() -> timedelta:
    """Older than this, a snapshot is not served: beat or the worker has stopped, and a page
    computed now (and cached per process like a filtered one) is better than a stale one."""
    return timedelta(seconds=10 * float(settings.DASHBOARD_SNAPSHOT_SECONDS))


@typing.overload
def snapshot_read(
    kind: str, key: str = ..., *, schema: None = None
) -> tuple[Any, datetime] | None: ...
@typing.overload
def snapshot_read(kind: str, key: str = ..., *, schema: type[T]) -> tuple[T, datetime] | None: ...
def snapshot_read(
    kind: str, key: str = DEFAULT_KEY, *, schema: type[Any] | None = None
) -> tuple[Any, datetime] | None:
    """`(payload, computed_at)` of the fresh snapshot of `kind` in this SCHEMA_VERSION, or
    None; one query. With `schema`, the payload is built back into that dataclass, and a
    payload that does not fit it counts as no snapshot."""
    row = (
        DashboardSnapshot.objects.filter(
            kind=kind,
            key=key,
            schema=SCHEMA_VERSION,
            computed_at__gte=timezone.now() - max_age(),
        )
        .values_list("payload", "computed_at")
        .first()
    )
    if row is None:
        return None
    if schema is None:
        return decode(row[0]), row[1]
    try:
        return load(schema, row[0]), row[1]
    except SchemaMismatch as exc:
        # Written by code whose rows had another layout under the same version number: the
        # version was not bumped. Computing the page is right; this says what to fix.
        log.warning("Ignoring the %s dashboard's snapshot (bump SCHEMA_VERSION?): %s", kind, exc)
        return None


def snapshot_write(
    kind: str, payload: Any, *, computed_at: datetime, took_ms: int, key: str = DEFAULT_KEY
) -> DashboardSnapshot:
    """Store `payload` as the snapshot of `kind`, in this SCHEMA_VERSION, replacing the
    previous one.

    Idempotent: a rebuild that runs twice, or two at once, leaves one row per (kind, key)
    (the unique constraint, and update_or_create's lock and retry); an older computation that
    finishes last does not replace a newer one of the same version.
    """
    values = {
        "payload": encode(payload),
        "computed_at": computed_at,
        "took_ms": took_ms,
        "schema": SCHEMA_VERSION,
    }
    snapshot, created = DashboardSnapshot.objects.update_or_create(
        kind=kind, key=key, create_defaults=values, defaults={}
    )
    if not created and (snapshot.computed_at < computed_at or snapshot.schema != SCHEMA_VERSION):
        DashboardSnapshot.objects.filter(
            Q(computed_at__lt=computed_at) | ~Q(schema=SCHEMA_VERSION), pk=snapshot.pk
        ).update(**values)
        snapshot.refresh_from_db()
    return snapshot


def snapshots_of_other_versions_delete() -> int:
    """Delete the rows no code of this version reads (another SCHEMA_VERSION); how many."""
    deleted, _ = DashboardSnapshot.objects.exclude(schema=SCHEMA_VERSION).delete()
    return deleted

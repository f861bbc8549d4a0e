"""Master keys, and the one table of keys wrapped under them.

The master key comes from STORAGE_MASTER_KEY (32 bytes as base64 or hex), else the file
STORAGE_MASTER_KEY_FILE. Outside production a missing file is created on first use, readable by
its owner only; under production settings a missing key stops the portal with
ImproperlyConfigured instead. STORAGE_OLD_MASTER_KEYS lists keys still accepted for unwrapping
while `storage_rewrap` moves every wrapped key to a new master key.

Every key wrapped under a master key is a `WrappedKey` row: stored objects' data keys and
grants' pseudonymization keys alike. `key_wrap` makes one, `key_unwrap` opens one with the
master key its row names, `keys_rewrap` moves them all to a new master key. Other apps call
these through `storage.services`; none of them sees a master key or `storage.crypto`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from storage import crypto
from storage.crypto import KEY_SIZE, key_id
from storage.errors import StorageError
from storage.models import StorageEvent, WrappedKey

__all__ = [
    "key_unwrap",
    "key_wrap",
    "keyring",
    "keys_rewrap",
    "master_key",
    "parse_key",
    "write_new_key_file",
]


def parse_key(text: str, *, name: str = "the key") -> bytes:
    """32 bytes from 64 hex digits or base64 (standard or URL-safe, padded or not)."""
    text = text.strip()
    if len(text) == 2 * KEY_SIZE:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        padded = text + "=" * (-len(text) % 4)
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_SIZE:
        raise ImproperlyConfigured(
            f"{name} must be {KEY_SIZE} bytes written as 64 hex digits or base64."
        )
    return raw


def write_new_key_file(path: Path) -> bytes:
    """Create a key file (base64 of 32 random bytes) with mode 0600; never overwrite one."""
    key = os.urandom(KEY_SIZE)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(key).decode() + "\n")
    return key


def master_key() -> bytes:
    """The current master key: the one new objects' data keys are wrapped under."""
    if settings.STORAGE_MASTER_KEY.strip():
        return parse_key(settings.STORAGE_MASTER_KEY, name="STORAGE_MASTER_KEY")
    path = Path(settings.STORAGE_MASTER_KEY_FILE)
    if not path.exists():
        if settings.BIZI_PRODUCTION:
            raise ImproperlyConfigured(
                "Set STORAGE_MASTER_KEY (32 bytes, base64 or hex) or point "
                f"STORAGE_MASTER_KEY_FILE at a key file; {path} does not exist."
            )
        try:
            return write_new_key_file(path)
        except FileExistsError:
            pass  # another process made it first: read theirs
    return parse_key(path.read_text(), name=f"the key in {path}")


def keyring() -> dict[str, bytes]:
    """Every master key that may unwrap a data key, by key id: the current one first."""
    keys = {}
    current = master_key()
    keys[key_id(current)] = current
    for n, text in enumerate(settings.STORAGE_OLD_MASTER_KEYS, start=1):
        old = parse_key(text, name=f"key {n} of STORAGE_OLD_MASTER_KEYS")
        keys.setdefault(key_id(old), old)
    return keys


# --- The wrapped keys --------------------------------------------------------------------------

_PURPOSE = re.compile(r"[a-z][a-z0-9_-]{0,29}")


def key_wrap(key: bytes, *, purpose: str, pk: uuid.UUID | None = None) -> WrappedKey:
    """Store `key` (32 bytes) wrapped under the current master key; returns the saved row.

    `purpose` says what the key is for ("object", "grant"). The row is inserted in the
    caller's transaction, with a random id unless `pk` is given (a stored object's key row
    takes the object's id). The caller points its own row at this one and keeps no other copy
    of the key. Raises ValueError for a key that is not 32 bytes or a purpose that is not a
    short lower-case slug.
    """
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError(f"a key's purpose is a short lower-case slug, not {purpose!r}")
    master = master_key()
    row = WrappedKey(purpose=purpose, master_key_id=key_id(master))
    if pk is not None:
        row.id = pk
    row.wrapped = crypto.wrap_key(key, master_key=master, object_id=row.id)
    row.save(force_insert=True)
    return row


def key_unwrap(wrapped: WrappedKey) -> bytes:
    """The key in `wrapped`, opened with the master key its row names.

    That is STORAGE_MASTER_KEY or one of STORAGE_OLD_MASTER_KEYS, so keys not yet re-wrapped
    still open during a rotation. Raises StorageError (code "key_unavailable") when that master
    key is not configured, or when the bytes do not open: altered, copied from another row, or
    wrapped under a key that is gone.
    """
    return _unwrap(wrapped, keyring())


def _unwrap(wrapped: WrappedKey, ring: dict[str, bytes]) -> bytes:
    if wrapped.master_key_id:
        master = ring.get(wrapped.master_key_id)
        if master is None:
            raise StorageError(
                f"The {wrapped.purpose} key {wrapped.pk} is wrapped under master key "
                f"{wrapped.master_key_id}, which is neither STORAGE_MASTER_KEY nor listed in "
                "STORAGE_OLD_MASTER_KEYS.",
                code="key_unavailable",
            )
        candidates = [master]
    else:
        # Wrapped before master key ids were recorded for it (see WrappedKey): the current
        # key first, then the old ones, as grants were always opened before.
        candidates = list(ring.values())
    data = bytes(wrapped.wrapped)
    for master in candidates:
        try:
            return crypto.unwrap_key(data, master_key=master, object_id=wrapped.pk)
        except crypto.UnwrapError:
            continue
    raise StorageError(
        f"The {wrapped.purpose} key {wrapped.pk} does not unwrap under its master key: its "
        "bytes were altered or belong to another row.",
        code="key_unavailable",
    )


def keys_rewrap(
    *, new_key: bytes, batch: int = 500, progress: Callable[[int, int], None] | None = None
) -> dict[str, int]:
    """Re-wrap every wrapped key under `new_key`; returns how many, by purpose.

    Only the WrappedKey rows change (no shard is read or written, and each key inside stays
    the same, so objects decrypt and grants pseudonymize as before). Rows already under the
    new key are skipped and each batch commits on its own, so an interrupted run is finished
    by running it again, and a second run re-wraps nothing. Before anything changes, every
    row's master key must be configured (STORAGE_MASTER_KEY or STORAGE_OLD_MASTER_KEYS), else
    StorageError and nothing is re-wrapped; a row whose bytes do not open stops the run there
    with StorageError naming it (the batches before it stay done). `progress(done, total)` is
    called after each batch. Afterwards set STORAGE_MASTER_KEY to the new key, keeping the old
    one in STORAGE_OLD_MASTER_KEYS until every process has the new setting.
    """
    ring = keyring()
    new_id = key_id(new_key)
    ring[new_id] = new_key
    pending = WrappedKey.objects.exclude(master_key_id=new_id)
    absent = sorted(
        set(
            pending.exclude(master_key_id="")
            .exclude(master_key_id__in=list(ring))
            .values_list("master_key_id", flat=True)
            .distinct()
        )
    )
    if absent:
        raise StorageError(
            f"Some keys are wrapped under master key {', '.join(absent)}, which is neither "
            "STORAGE_MASTER_KEY nor listed in STORAGE_OLD_MASTER_KEYS; nothing was re-wrapped.",
            code="key_unavailable",
        )
    total = pending.count()
    done: Counter[str] = Counter()
    while True:
        with transaction.atomic():
            rows = list(pending.select_for_update().order_by("pk")[:batch])
            if not rows:
                break
            now = timezone.now()
            for row in rows:
                try:
                    key = _unwrap(row, ring)
                except StorageError as exc:
                    raise StorageError(
                        f"{exc.message} {sum(done.values())} keys were re-wrapped before it; "
                        "none after it.",
                        code=exc.code,
                    ) from exc
                row.wrapped = crypto.wrap_key(key, master_key=new_key, object_id=row.pk)
                row.master_key_id = new_id
                row.rewrapped_at = now
            WrappedKey.objects.bulk_update(rows, ["wrapped", "master_key_id", "rewrapped_at"])
        done.update(row.purpose for row in rows)
        if progress is not None:
            progress(sum(done.values()), total)
    counts = ", ".join(f"{n} {purpose}" for purpose, n in sorted(done.items())) or "none"
    StorageEvent.objects.create(
        kind=StorageEvent.Kind.KEYS_REWRAPPED, detail=f"keys now under {new_id}: {counts}"
    )
    return dict(done)

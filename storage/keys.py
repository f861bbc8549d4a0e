"""The storage master key: it wraps every object's data key and never touches shard data.

From STORAGE_MASTER_KEY (32 bytes as base64 or hex), else the file STORAGE_MASTER_KEY_FILE.
Outside production a missing file is created on first use, readable by its owner only; under
production settings a missing key stops the portal with ImproperlyConfigured instead.
STORAGE_OLD_MASTER_KEYS lists keys still accepted for unwrapping while `storage_rewrap` moves
every data key to a new master key.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from storage.crypto import KEY_SIZE, key_id

__all__ = ["keyring", "master_key", "parse_key", "write_new_key_file"]


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

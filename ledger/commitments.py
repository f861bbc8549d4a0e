"""Salted commitments: how an entry proves what was said without saying it.

An entry is readable by every participant of the consortium, so it may hold only what a third
institution may know (kinds, times, institutions, datasets, columns, masks, expiry, digests).
Free text (a purpose, a reason), row-filter texts and the person who acted go in as

    commitment = SHA-256(salt || UTF-8 bytes of the value)

with a fresh random 32-byte salt per field. The salt and the value (together, the *opening*)
stay off the log, with the request, grant or listing they belong to, for its parties. Whoever
holds an opening can show anyone that the log committed to exactly that value at that time
(the hash binds it); without the salt, the commitment says nothing about the value, not even
whether two entries name the same person, because every field gets its own salt.

`tools/bizi_verify.py --open` re-implements `commitment` on purpose: auditors check openings
without the portal's code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SALT_BYTES = 32


def new_salt() -> bytes:
    return secrets.token_bytes(SALT_BYTES)


def commitment(salt: bytes, value: str) -> bytes:
    """SHA-256(salt || value as UTF-8): the 32 bytes an entry holds for `value`."""
    if len(salt) != SALT_BYTES:
        raise ValueError(f"a salt is {SALT_BYTES} bytes, not {len(salt)}")
    return hashlib.sha256(salt + value.encode("utf-8")).digest()


def opens(commitment_hex: str, salt: bytes, value: str) -> bool:
    """Does (salt, value) open the commitment written in an entry (lower-case hex)?"""
    return hmac.compare_digest(commitment(salt, value).hex(), commitment_hex)

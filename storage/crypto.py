"""Encryption at rest: AES-256-GCM per stripe under a random per-object data key.

Pure functions, no Django. The scheme:

* Every stored object gets a fresh 256-bit data key from the OS's CSPRNG. Nothing but storage
  ever sees it in the clear; the database holds it wrapped by the master key.
* Wrapping is AES-256-GCM under the master key with a random 96-bit nonce, the id of the row
  that holds it (`storage.models.WrappedKey`; an object's key row has the object's id) as
  associated data, so a wrapped key copied onto another row does not unwrap there, and the
  result stored as nonce || ciphertext || tag (60 bytes). A master key wraps one key per object
  or grant, far below the 2**32 random nonces NIST SP 800-38D §8.3 allows under one key.
* The encrypted unit is one stripe. Its nonce is the stripe's index as a 96-bit big-endian
  integer: unique per unit because the data key is used for one object only and each stripe is
  encrypted once (repairs rebuild ciphertext from the erasure code; they never re-encrypt).
* Each unit's associated data binds it to its object, its position and whether it is the last
  one, after the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár ("Online
  Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015): swapping,
  reordering or dropping stripes, or cutting the object short, fails the tag check.
"""

from __future__ import annotations

import hashlib
import os
import uuid

from Crypto.Cipher import AES

__all__ = [
    "KEY_SIZE",
    "TAG_SIZE",
    "WRAPPED_SIZE",
    "IntegrityError",
    "UnwrapError",
    "key_id",
    "new_data_key",
    "open_stripe",
    "seal_stripe",
    "unwrap_key",
    "wrap_key",
]

KEY_SIZE = 32  # AES-256
NONCE_SIZE = 12  # GCM's recommended 96-bit nonce (SP 800-38D §5.2.1.1)
TAG_SIZE = 16
WRAPPED_SIZE = NONCE_SIZE + KEY_SIZE + TAG_SIZE

_WRAP_CONTEXT = b"bizi-storage wrap v1"
_STRIPE_CONTEXT = b"bizi-storage stripe v1"
_KEY_ID_CONTEXT = b"bizi-storage master key id v1"


class IntegrityError(Exception):
    """A stripe failed its GCM tag check: the bytes are not what was encrypted."""


class UnwrapError(Exception):
    """A wrapped key does not open under the given master key and id."""


def new_data_key() -> bytes:
    return os.urandom(KEY_SIZE)


def key_id(master_key: bytes) -> str:
    """A short public name for a master key (16 hex digits), stored beside each wrapped key.

    A hash under its own context string, so it reveals nothing useful about the key and tells
    which master key an object needs without trying them all.
    """
    return hashlib.sha256(_KEY_ID_CONTEXT + master_key).hexdigest()[:16]


def wrap_key(data_key: bytes, *, master_key: bytes, object_id: uuid.UUID) -> bytes:
    """The key encrypted and authenticated under the master key, bound to `object_id` (the id
    of the WrappedKey row that holds it)."""
    _check_key(master_key, "master key")
    _check_key(data_key, "data key")
    nonce = os.urandom(NONCE_SIZE)
    cipher = AES.new(master_key, AES.MODE_GCM, nonce=nonce)
    cipher.update(_WRAP_CONTEXT + object_id.bytes)
    ciphertext, tag = cipher.encrypt_and_digest(data_key)
    return nonce + ciphertext + tag


def unwrap_key(wrapped: bytes, *, master_key: bytes, object_id: uuid.UUID) -> bytes:
    """The data key from `wrap_key`'s output. Raises `UnwrapError` if anything does not match."""
    _check_key(master_key, "master key")
    if len(wrapped) != WRAPPED_SIZE:
        raise UnwrapError(f"a wrapped key is {WRAPPED_SIZE} bytes, got {len(wrapped)}")
    nonce, ciphertext, tag = (
        wrapped[:NONCE_SIZE],
        wrapped[NONCE_SIZE : NONCE_SIZE + KEY_SIZE],
        wrapped[NONCE_SIZE + KEY_SIZE :],
    )
    cipher = AES.new(master_key, AES.MODE_GCM, nonce=nonce)
    cipher.update(_WRAP_CONTEXT + object_id.bytes)
    try:
        return cipher.decrypt_and_verify(ciphertext, tag)
    except ValueError as exc:
        raise UnwrapError(f"the key bound to {object_id} does not unwrap") from exc


def _check_key(key: bytes, what: str) -> None:
    if len(key) != KEY_SIZE:
        raise ValueError(f"the {what} must be {KEY_SIZE} bytes, got {len(key)}")


def _stripe_cipher(data_key: bytes, object_id: uuid.UUID, index: int, final: bool) -> object:
    cipher = AES.new(data_key, AES.MODE_GCM, nonce=index.to_bytes(NONCE_SIZE, "big"))
    cipher.update(_STRIPE_CONTEXT + object_id.bytes + index.to_bytes(8, "big") + bytes([final]))
    return cipher


def seal_stripe(
    buffer: bytearray | memoryview,
    *,
    data_key: bytes,
    object_id: uuid.UUID,
    index: int,
    final: bool,
) -> None:
    """Encrypt buffer[:-TAG_SIZE] in place and write its tag into the last TAG_SIZE bytes.

    In place, so a stripe in flight is one buffer rather than a plaintext and a ciphertext.
    (GCM encrypts with CTR, block by block, then authenticates the ciphertext it wrote, so the
    output may be the input; the tests compare with pycryptodome's out-of-place result.)
    """
    view = memoryview(buffer).cast("B")
    if len(view) < TAG_SIZE:
        raise ValueError(f"a sealed stripe has room for its {TAG_SIZE}-byte tag")
    body = view[:-TAG_SIZE]
    cipher = _stripe_cipher(data_key, object_id, index, final)
    if len(body):
        cipher.encrypt(body, output=body)  # type: ignore[attr-defined]
    view[-TAG_SIZE:] = cipher.digest()  # type: ignore[attr-defined]


def open_stripe(
    buffer: bytearray | memoryview,
    *,
    data_key: bytes,
    object_id: uuid.UUID,
    index: int,
    final: bool,
) -> memoryview:
    """Decrypt `seal_stripe`'s output in place and return the plaintext part of the buffer.

    Raises `IntegrityError` if the tag does not verify; then the buffer holds unauthenticated
    bytes and must be dropped, which is why the caller gets nothing back but the error.
    """
    view = memoryview(buffer).cast("B")
    if len(view) < TAG_SIZE:
        raise IntegrityError(f"stripe {index} is {len(view)} bytes, shorter than its tag")
    if view.readonly:
        raise ValueError("open_stripe decrypts in place: pass a writable buffer")
    body, tag = view[:-TAG_SIZE], bytes(view[-TAG_SIZE:])
    cipher = _stripe_cipher(data_key, object_id, index, final)
    if len(body):
        cipher.decrypt(body, output=body)  # type: ignore[attr-defined]
    try:
        cipher.verify(tag)  # type: ignore[attr-defined]
    except ValueError as exc:
        raise IntegrityError(f"stripe {index} of object {object_id} failed its tag check") from exc
    return body

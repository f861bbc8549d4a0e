"""Stripe encryption: in place equals pycryptodome's own result; any change fails the tag."""

from __future__ import annotations

import os
import uuid

import pytest
from Crypto.Cipher import AES
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.crypto import TAG_SIZE, IntegrityError, open_stripe, seal_stripe

KEY = bytes(range(32))
OBJECT = uuid.UUID(int=7)


def _reference(plaintext: bytes, index: int, final: bool) -> bytes:
    cipher = AES.new(KEY, AES.MODE_GCM, nonce=index.to_bytes(12, "big"))
    cipher.update(
        b"bizi-storage stripe v1" + OBJECT.bytes + index.to_bytes(8, "big") + bytes([final])
    )
    ciphertext, tag = cipher.encrypt_and_digest(plaintext)
    return ciphertext + tag


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=5000), st.integers(0, 2**40), st.booleans())
def test_sealing_in_place_matches_out_of_place_gcm_and_opens_back(plaintext, index, final):
    buffer = bytearray(plaintext) + bytearray(TAG_SIZE)
    seal_stripe(buffer, data_key=KEY, object_id=OBJECT, index=index, final=final)
    assert bytes(buffer) == _reference(plaintext, index, final)
    assert bytes(open_stripe(buffer, data_key=KEY, object_id=OBJECT, index=index, final=final)) == (
        plaintext
    )


@pytest.mark.parametrize(
    "change",
    ["flip a ciphertext bit", "flip a tag bit", "other index", "not final", "other object"],
)
def test_any_change_fails_the_tag_check(change):
    plaintext = os.urandom(1000)
    buffer = bytearray(plaintext) + bytearray(TAG_SIZE)
    seal_stripe(buffer, data_key=KEY, object_id=OBJECT, index=3, final=True)
    index, final, object_id = 3, True, OBJECT
    if change == "flip a ciphertext bit":
        buffer[10] ^= 1
    elif change == "flip a tag bit":
        buffer[-1] ^= 1
    elif change == "other index":
        index = 4
    elif change == "not final":
        final = False  # a stream cut short after this stripe is caught
    else:
        object_id = uuid.UUID(int=8)
    with pytest.raises(IntegrityError):
        open_stripe(buffer, data_key=KEY, object_id=object_id, index=index, final=final)

"""Signed notes, keys, checkpoints, cosignatures and tlog-witness bodies.

Known answers come from Go's golang.org/x/mod/sumdb/note tests (the
PeterNeumann / EnochRoot keys and signatures), transparency-dev/formats'
note_cosigv1_test.go (verifier keys of both types, cosignature timestamps) and
the examples in the C2SP specs.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from Crypto.Signature import eddsa
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import notes
from ledger.notes import (
    COSIGNATURE_V1,
    ED25519,
    Checkpoint,
    InvalidSignatureError,
    Note,
    NoteError,
    NoteSignature,
    UnverifiedNoteError,
)

# golang.org/x/mod/sumdb/note/note_test.go
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdn"
    "gotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnW"
    "Lox33WWd1RvMc+QQ=\n"
)

# c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature examples.
SOFA_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SOFA_LOG_SIG = (
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zh"
    "cyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
SOFA_WITNESS_SIG = (
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJ"
    "sX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)


def peter() -> notes.Verifier:
    return notes.parse_verifier_key(PETER_VKEY)


def enoch() -> notes.Verifier:
    return notes.parse_verifier_key(ENOCH_VKEY)


# --- keys --------------------------------------------------------------------------


def test_signer_key_known_answer() -> None:
    signer = notes.parse_signer_key(PETER_SKEY)
    assert (signer.name, signer.key_id, signer.sig_type) == ("PeterNeumann", 0xC74F20A3, ED25519)
    assert signer.verifier().to_vkey() == PETER_VKEY
    assert signer.to_skey() == PETER_SKEY


def test_verifier_key_known_answers() -> None:
    assert peter().key_id == 0xC74F20A3
    assert peter().to_vkey() == PETER_VKEY
    # transparency-dev/formats note_cosigv1_test.go: a native 0x04 cosigner key
    # and a 0x01 key whose base64 contains "+".
    remora = notes.parse_verifier_key(
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    )
    assert (remora.sig_type, remora.key_id) == (COSIGNATURE_V1, 0xDA77ADE7)
    test = notes.parse_verifier_key("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert (test.sig_type, test.key_id) == (ED25519, 0x7997405C)
    cosig = test.for_cosignatures()
    assert cosig.sig_type == COSIGNATURE_V1 and cosig.public_key == test.public_key
    assert cosig.key_id == notes.key_id("TEST", 0x04, test.public_key) != test.key_id


def test_key_id_formula() -> None:
    pub = peter().public_key
    digest = hashlib.sha256(b"PeterNeumann\n\x01" + pub).digest()
    assert notes.key_id("PeterNeumann", 1, pub) == int.from_bytes(digest[:4], "big")


def mangled(key: str) -> list[str]:
    """Every proper substring and every one-character increment (as Go's tests)."""
    out = {key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)}
    out |= {key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :] for i in range(len(key))}
    out.discard(key)
    return sorted(out)


def test_mangled_verifier_keys_are_refused() -> None:
    for bad in mangled(PETER_VKEY):
        with pytest.raises(NoteError):
            notes.parse_verifier_key(bad)
    # Wrong length with an adjusted key hash; unknown algorithm with an adjusted hash.
    with pytest.raises(NoteError):
        notes.parse_verifier_key(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
    with pytest.raises(NoteError):
        notes.parse_verifier_key(
            "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
        )


def test_mangled_signer_keys_are_refused() -> None:
    for bad in mangled(PETER_SKEY):
        with pytest.raises(NoteError):
            notes.parse_signer_key(bad)


def test_generated_keys_round_trip() -> None:
    for sig_type in (ED25519, COSIGNATURE_V1):
        signer = notes.generate_signer("example.com/log", sig_type)
        again = notes.parse_signer_key(signer.to_skey())
        assert again == signer and again.key_id == signer.key_id
        verifier = notes.parse_verifier_key(signer.verifier().to_vkey())
        assert verifier == signer.verifier()
        assert repr(signer.seed) not in repr(signer)  # the seed stays out of logs


def test_invalid_names_are_refused() -> None:
    for name in ["", "a b", "a+b", "tab\there", "nbsp\u00a0here", "new\nline"]:
        with pytest.raises(NoteError):
            notes.generate_signer(name)


# --- notes -------------------------------------------------------------------------


def test_sign_known_answer() -> None:
    signer = notes.parse_signer_key(PETER_SKEY)
    assert notes.sign_note(TEXT, [signer]).decode() == TEXT + "\n" + PETER_SIG


def test_verify_known_notes() -> None:
    msg = (TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()
    one = notes.verify_note(msg, [peter()])
    assert one.text == TEXT
    assert [s.name for s in one.verified] == ["PeterNeumann"]
    assert [(s.name, s.key_id) for s in one.unverified] == [("EnochRoot", 0xAF0CFE78)]

    both = notes.verify_note(msg, [peter(), enoch()])
    assert [s.name for s in both.verified] == ["PeterNeumann", "EnochRoot"]
    assert both.unverified == ()

    with pytest.raises(UnverifiedNoteError) as caught:
        notes.verify_note(msg, [])
    assert len(caught.value.note.signatures) == 2


def test_tampered_signature_fails() -> None:
    bad_sig = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(InvalidSignatureError) as caught:
        notes.verify_note((TEXT + "\n" + bad_sig).encode(), [peter()])
    assert (caught.value.name, caught.value.key_id) == ("PeterNeumann", 0xC74F20A3)


def test_tampered_text_fails() -> None:
    msg = (TEXT.replace("problem,", "problem;") + "\n" + PETER_SIG).encode()
    with pytest.raises(InvalidSignatureError):
        notes.verify_note(msg, [peter()])


def test_wrong_key_fails() -> None:
    # Same name, different key: a different key ID, so the signature is from an
    # unknown key and the note has no trusted signature.
    impostor = notes.generate_signer("PeterNeumann").verifier()
    with pytest.raises(UnverifiedNoteError):
        notes.verify_note((TEXT + "\n" + PETER_SIG).encode(), [impostor])


def test_ambiguous_keys_are_refused() -> None:
    a = peter()
    b = notes.Verifier("PeterNeumann", ED25519, enoch().public_key)
    object.__setattr__(b, "key_id", a.key_id)  # a forged collision of name and key ID
    with pytest.raises(NoteError, match="ambiguous"):
        notes.verify_note((TEXT + "\n" + PETER_SIG).encode(), [a, b])


@pytest.mark.parametrize(
    "msg",
    [
        # golang.org/x/mod/sumdb/note TestOpen badMsgs
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
        "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG * 101,
    ],
)
def test_malformed_notes_are_refused(msg: str) -> None:
    with pytest.raises(NoteError):
        notes.verify_note(msg.encode(), [peter()])


def test_invalid_utf8_is_refused() -> None:
    with pytest.raises(NoteError):
        notes.parse_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode())


def test_repeated_signatures_are_checked_once() -> None:
    msg = (TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG).encode()
    result = notes.verify_note(msg, [peter()])
    assert len(result.verified) == 1 and len(result.unverified) == 1


def test_with_signatures_replaces_same_key() -> None:
    note = notes.parse_note((TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode())
    signer = notes.parse_signer_key(PETER_SKEY)
    fresh = NoteSignature(signer.name, signer.key_id, signer.sign(TEXT.encode()))
    merged = note.with_signatures([fresh])
    assert [s.name for s in merged.signatures] == ["EnochRoot", "PeterNeumann"]


@settings(max_examples=25, deadline=None, database=None)
@given(
    lines=st.lists(
        st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), min_size=1, max_size=30),
        min_size=1,
        max_size=5,
    )
)
def test_sign_verify_round_trip(lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)
    signer = notes.generate_signer("example.com/log")
    msg = notes.sign_note(text, [signer])
    assert notes.verify_note(msg, [signer.verifier()]).text == text
    assert notes.parse_note(msg).to_bytes() == msg


# --- checkpoints -------------------------------------------------------------------


def test_checkpoint_spec_example_parses() -> None:
    cp = notes.parse_checkpoint(SOFA_BODY)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert cp.root_hash == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert cp.body() == SOFA_BODY
    note = notes.parse_note((SOFA_BODY + "\n" + SOFA_LOG_SIG + SOFA_WITNESS_SIG).encode())
    assert [s.name for s in note.signatures] == [
        "example.com/behind-the-sofa",
        "witness.example.com/w1",
    ]


def test_checkpoint_round_trip_and_signature() -> None:
    log = notes.generate_signer("example.com/log")
    cp = Checkpoint("example.com/log", 5, hashlib.sha256(b"root").digest(), ("ext one",))
    signed = notes.sign_checkpoint(cp, log)
    opened, verified = notes.open_checkpoint(signed, [log.verifier()])
    assert opened == cp and verified.text == cp.body()
    assert cp.body().endswith("\next one\n")
    tampered = signed.replace(b"\n5\n", b"\n6\n")
    with pytest.raises(InvalidSignatureError):
        notes.open_checkpoint(tampered, [log.verifier()])


def test_checkpoint_key_name_must_be_origin() -> None:
    log = notes.generate_signer("example.com/other")
    with pytest.raises(NoteError):
        notes.sign_checkpoint(Checkpoint("example.com/log", 0, bytes(32)), log)


ROOT_B64 = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    "text",
    [
        f"origin\n5\n{ROOT_B64}",  # no final newline
        "origin\n5\n",  # no root line
        f"\n5\n{ROOT_B64}\n",  # empty origin
        f"origin\n05\n{ROOT_B64}\n",  # leading zero
        f"origin\n-5\n{ROOT_B64}\n",
        f"origin\n5 \n{ROOT_B64}\n",
        f"origin\n٥\n{ROOT_B64}\n",  # a non-ASCII digit
        f"origin\n5\n{base64.b64encode(bytes(31)).decode()}\n",  # not SHA-256 sized
        f"origin\n5\n{ROOT_B64[:-1]}\n",  # bad base64
        f"origin\n5\n{ROOT_B64}\n\n",  # empty extension line
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        notes.parse_checkpoint(text)


def test_empty_tree_checkpoint() -> None:
    cp = notes.parse_checkpoint(f"origin\n0\n{ROOT_B64}\n")
    assert cp.size == 0


# --- cosignatures ------------------------------------------------------------------


def test_cosignature_timestamp_known_answers() -> None:
    # c2sp.org/tlog-cosignature example: its signed message has "time 1679315147".
    line = NoteSignature.parse_line(SOFA_WITNESS_SIG[:-1])
    assert line.key_id == 0x8D66CF3F
    assert notes.cosignature_timestamp(line) == 1679315147
    # transparency-dev/formats TestCosignatureTimestamp.
    sig = base64.b64decode(
        "ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEB"
        "YJXORmnFBOBA=="
    )
    ts = NoteSignature("w", int.from_bytes(sig[:4], "big"), sig[4:])
    assert notes.cosignature_timestamp(ts) == 1727964367
    plain = base64.b64decode(
        "eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY="
    )
    with pytest.raises(NoteError):
        notes.cosignature_timestamp(NoteSignature("w", 0, plain[4:]))


def test_cosignature_message_matches_spec_example() -> None:
    assert notes.cosignature_message(SOFA_BODY, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n" + SOFA_BODY.encode()
    )


def test_cosign_and_verify() -> None:
    witness = notes.generate_signer("witness.example/w1")  # a 0x01 key, as operators hold
    sig = notes.cosign_checkpoint(SOFA_BODY, witness, 1700000000)
    assert sig.name == "witness.example/w1"
    assert sig.key_id == notes.key_id("witness.example/w1", 0x04, witness.public_key)
    assert notes.cosignature_timestamp(sig) == 1700000000
    # The Ed25519 signature covers exactly the spec's message.
    eddsa.new(eddsa.import_public_key(witness.public_key), "rfc8032").verify(
        b"cosignature/v1\ntime 1700000000\n" + SOFA_BODY.encode(), sig.signature[8:]
    )

    cosigner = witness.verifier().for_cosignatures()
    checkpoint = Note(SOFA_BODY, (NoteSignature.parse_line(SOFA_LOG_SIG[:-1]),))
    result = notes.verify_note(checkpoint.with_signatures([sig]), [cosigner])
    assert result.verified == (sig,)

    # The plain 0x01 key of the same witness does not accept it (different key ID).
    with pytest.raises(UnverifiedNoteError):
        notes.verify_note(checkpoint.with_signatures([sig]), [witness.verifier()])


def test_tampered_cosignatures_fail() -> None:
    witness = notes.generate_signer("witness.example/w1", COSIGNATURE_V1)
    cosigner = witness.verifier()
    body = SOFA_BODY + "extension\n"
    sig = notes.cosign_checkpoint(body, witness, 1700000000)
    later = NoteSignature(sig.name, sig.key_id, (1700000001).to_bytes(8, "big") + sig.signature[8:])
    for bad_body, bad_sig in [
        (body, later),  # timestamp changed
        (body.replace("extension", "extensioN"), sig),  # extension lines are covered
        (body.replace("20852163", "20852164"), sig),
    ]:
        with pytest.raises(InvalidSignatureError):
            notes.verify_note(Note(bad_body, (bad_sig,)), [cosigner])


def test_cosigning_needs_a_checkpoint_and_a_timestamp() -> None:
    witness = notes.generate_signer("w", COSIGNATURE_V1)
    with pytest.raises(NoteError):
        notes.cosign_checkpoint("not a checkpoint\n", witness, 1)
    with pytest.raises(NoteError):
        notes.cosign_checkpoint(SOFA_BODY, witness, 2**63)
    with pytest.raises(NoteError):
        notes.sign_note(SOFA_BODY, [witness])  # no timestamp


def test_cosignature_response_round_trip() -> None:
    # c2sp.org/tlog-witness example response body.
    body = (
        "— witness.example/w1 CMp+6LWBU0anHGH5aNDTJkH/gj79sG+T6+iP2ThYN5krrDJbR1HDnucjL39QsZTSvV"
        "jyQLrdk3DXDqI5G2HgLatVs0pWh6Up69HVOw==\n"
        "— witness.example/w1 I7rEps0pvK2UqkS2gSpVUDhrhVtQV9lgF6pRrWAvjJHjyWpW7VcE3SiOlVlbQNt64v"
        "WhO+DlkL0+UfzuOBMh9ChdMkP1vi/lCAsmlw==\n"
        "— witness.example/w2 AWui8Sk55XjYLOijihBjhqEH6nS1ndDymE0a+6idX7pLcnoB+dhnz0854aLZgrrKbY"
        "KA7nC3HNJhm/kWl7oJlqU3rXXvpysAdyP3wQ==\n"
    ).encode()
    sigs = notes.parse_cosignatures(body)
    assert [s.name for s in sigs] == ["witness.example/w1"] * 2 + ["witness.example/w2"]
    assert notes.format_cosignatures(sigs) == body
    with pytest.raises(NoteError):
        notes.parse_cosignatures(body[:-1])
    with pytest.raises(NoteError):
        notes.format_cosignatures([])


# --- tlog-witness add-checkpoint ------------------------------------------------------

SPEC_REQUEST = (
    "old 20852014\n"
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"
    "\n"
    + SOFA_BODY
    + "\n"
    + SOFA_LOG_SIG
    + "— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+4"
    "9/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
).encode()


def test_add_checkpoint_spec_example() -> None:
    req = notes.parse_add_checkpoint(SPEC_REQUEST)
    assert req.old_size == 20852014
    assert len(req.proof) == 4
    assert req.proof[0] == base64.b64decode("PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=")
    note = notes.parse_note(req.checkpoint)
    assert note.text == SOFA_BODY and len(note.signatures) == 2
    assert req.to_bytes() == SPEC_REQUEST


def test_add_checkpoint_without_proof() -> None:
    body = notes.format_add_checkpoint(0, [], b"checkpoint bytes")
    assert body == b"old 0\n\ncheckpoint bytes"
    assert notes.parse_add_checkpoint(body).proof == ()


HASH_LINE = base64.b64encode(bytes(32)).decode() + "\n"


@pytest.mark.parametrize(
    "body",
    [
        "old 5\n" + HASH_LINE,  # no blank line
        "old 05\n\ncp",  # leading zero
        "old -1\n\ncp",
        "old five\n\ncp",
        "new 5\n\ncp",
        "old 5\n\n",  # no checkpoint
        "old 5\n" + HASH_LINE * 64 + "\ncp",  # too many proof lines
        "old 5\n" + base64.b64encode(bytes(31)).decode() + "\n\ncp",
        "old 5\nnot base64!\n\ncp",
    ],
)
def test_malformed_add_checkpoint_bodies_are_refused(body: str) -> None:
    with pytest.raises(NoteError):
        notes.parse_add_checkpoint(body.encode())


def test_add_checkpoint_accepts_63_proof_lines() -> None:
    body = ("old 5\n" + HASH_LINE * 63 + "\ncp").encode()
    assert len(notes.parse_add_checkpoint(body).proof) == 63

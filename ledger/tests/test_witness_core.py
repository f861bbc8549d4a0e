"""The tlog-witness add-checkpoint decision: each status code for its case.

A real log is simulated with ``ledger.merkle`` and signed with
``ledger.notes``; a forked log is the same log with one entry rewritten.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle, notes
from ledger.notes import Checkpoint, NoteSignature
from ledger.witness_core import WitnessDecision, WitnessState, decide_add_checkpoint

ORIGIN = "example.com/log"
NOW = 1_700_000_000
LOG = notes.signer_from_seed(ORIGIN, hashlib.sha256(b"log key").digest())
OTHER_LOG = notes.signer_from_seed(ORIGIN, hashlib.sha256(b"another key").digest())
WITNESS = notes.signer_from_seed("witness.example/w1", hashlib.sha256(b"witness").digest())


class Log:
    """An in-memory log: entries, its perfect-subtree store, signed checkpoints."""

    def __init__(self, entries: list[bytes], signer: notes.Signer = LOG) -> None:
        self.entries = entries
        self.signer = signer
        self.hashes = [merkle.leaf_hash(e) for e in entries]
        result = merkle.append_leaves(0, [], self.hashes)
        self.nodes = {(n.level, n.index): n.hash for n in result.new_nodes}

    def get_node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def root(self, size: int) -> bytes:
        return merkle.root_from_store(size, self.get_node)

    def checkpoint(self, size: int, extensions: tuple[str, ...] = ()) -> bytes:
        cp = Checkpoint(self.signer.name, size, self.root(size), extensions)
        return notes.sign_note(cp.body(), [self.signer])

    def request(self, old: int, size: int, extensions: tuple[str, ...] = ()) -> bytes:
        proof = merkle.consistency_proof(old, size, self.get_node)
        return notes.format_add_checkpoint(old, proof, self.checkpoint(size, extensions))


def entries(n: int, tag: bytes = b"") -> list[bytes]:
    return [b'{"i":%d}' % i + tag for i in range(n)]


HONEST = Log(entries(40))
FORKED = Log([*entries(40)[:5], b'{"i":5,"rewritten":true}', *entries(40)[6:]])


def decide(
    body: bytes,
    state: WitnessState | None,
    *,
    keys: dict[str, list[notes.Verifier]] | None = None,
) -> WitnessDecision:
    states = {ORIGIN: state} if state else {}
    return decide_add_checkpoint(
        body,
        log_keys={ORIGIN: [LOG.verifier()]} if keys is None else keys,
        get_state=states.get,
        cosigner=WITNESS,
        now=NOW,
    )


def cosigned_by_witness(decision: WitnessDecision, checkpoint: bytes) -> int:
    """Verify the response as a client would; return the cosignature time."""
    sigs = notes.parse_cosignatures(decision.body)
    note = notes.parse_note(checkpoint).with_signatures(sigs)
    verified = notes.verify_note(note, [WITNESS.verifier().for_cosignatures()])
    (sig,) = verified.verified
    return notes.cosignature_timestamp(sig)


def state_at(log: Log, size: int) -> WitnessState:
    return WitnessState(size, log.root(size))


# --- success -------------------------------------------------------------------


def test_first_checkpoint_is_cosigned() -> None:
    body = HONEST.request(0, 8)
    d = decide(body, None)
    assert d.status == 200, d.reason
    assert d.new_state == state_at(HONEST, 8)
    assert d.expected_old_size == 0
    assert cosigned_by_witness(d, notes.parse_add_checkpoint(body).checkpoint) == NOW


def test_honest_extension_is_cosigned() -> None:
    for old, new in [(8, 13), (13, 32), (1, 40), (39, 40), (32, 33)]:
        body = HONEST.request(old, new)
        d = decide(body, state_at(HONEST, old))
        assert d.status == 200, (old, new, d.reason)
        assert d.new_state == state_at(HONEST, new)
        cosigned_by_witness(d, notes.parse_add_checkpoint(body).checkpoint)


def test_same_checkpoint_again_is_cosigned() -> None:
    d = decide(HONEST.request(13, 13), state_at(HONEST, 13))
    assert d.status == 200 and d.new_state == state_at(HONEST, 13)


def test_cosignature_covers_extension_lines() -> None:
    body = HONEST.request(8, 13, extensions=("block 7",))
    d = decide(body, state_at(HONEST, 8))
    assert d.status == 200
    checkpoint = notes.parse_add_checkpoint(body).checkpoint
    cosigned_by_witness(d, checkpoint)
    with pytest.raises(notes.InvalidSignatureError):
        cosigned_by_witness(d, checkpoint.replace(b"block 7", b"block 8"))


def test_cosignature_uses_the_cosignature_key_id() -> None:
    d = decide(HONEST.request(0, 3), None)
    (sig,) = notes.parse_cosignatures(d.body)
    assert sig.key_id == notes.key_id(WITNESS.name, 0x04, WITNESS.public_key)
    assert d.body.startswith("— witness.example/w1 ".encode())


# --- refusals ------------------------------------------------------------------


def test_fork_at_the_same_size_is_a_conflict() -> None:
    d = decide(FORKED.request(8, 8), state_at(HONEST, 8))
    assert d.status == 409
    assert "fork" in d.reason
    assert d.new_state is None
    assert d.signature_verified and d.checkpoint is not None  # kept as evidence


def test_fork_with_a_proof_from_the_forked_tree_is_unprocessable() -> None:
    # The forked log proves 8 -> 20 within its own history; the witness checks
    # the proof against the root it cosigned, which the fork does not extend.
    d = decide(FORKED.request(8, 20), state_at(HONEST, 8))
    assert d.status == 422
    assert d.new_state is None
    assert d.signature_verified and d.checkpoint is not None
    assert d.checkpoint.root_hash == FORKED.root(20)


def test_tampered_proof_is_unprocessable() -> None:
    req = notes.parse_add_checkpoint(HONEST.request(8, 13))
    for i in range(len(req.proof)):
        proof = list(req.proof)
        proof[i] = bytes([proof[i][0] ^ 1]) + proof[i][1:]
        body = notes.format_add_checkpoint(8, proof, req.checkpoint)
        assert decide(body, state_at(HONEST, 8)).status == 422
    truncated = notes.format_add_checkpoint(8, req.proof[:-1], req.checkpoint)
    assert decide(truncated, state_at(HONEST, 8)).status == 422


def test_proof_from_size_zero_must_be_empty() -> None:
    req = notes.parse_add_checkpoint(HONEST.request(0, 8))
    body = notes.format_add_checkpoint(0, [HONEST.root(4)], req.checkpoint)
    assert decide(body, None).status == 422


def test_old_size_not_matching_state_is_a_conflict_with_the_size() -> None:
    for old, state in [(8, None), (0, state_at(HONEST, 8)), (4, state_at(HONEST, 8))]:
        d = decide(HONEST.request(old, 13), state)
        assert d.status == 409
        assert d.content_type == "text/x.tlog.size"
        assert d.body == f"{state.size if state else 0}\n".encode()


def test_rollback_attempt_is_a_conflict() -> None:
    # A stale client (or a race) asks to cosign an older, smaller tree.
    d = decide(HONEST.request(8, 13), state_at(HONEST, 20))
    assert (d.status, d.body) == (409, b"20\n")


def test_old_size_above_checkpoint_size_is_a_bad_request() -> None:
    cp = HONEST.checkpoint(8)
    d = decide(notes.format_add_checkpoint(13, [], cp), state_at(HONEST, 13))
    assert d.status == 400


def test_unknown_origin_is_not_found() -> None:
    d = decide(HONEST.request(0, 8), None, keys={"example.com/other-log": [LOG.verifier()]})
    assert d.status == 404
    assert d.origin == ORIGIN


def test_checkpoint_signed_by_another_key_is_forbidden() -> None:
    other = Log(entries(40), OTHER_LOG)
    d = decide(other.request(0, 8), None)
    assert d.status == 403
    assert d.new_state is None and not d.signature_verified


def test_bad_signature_from_the_log_key_is_forbidden() -> None:
    req = notes.parse_add_checkpoint(HONEST.request(0, 8))
    note = notes.parse_note(req.checkpoint)
    (sig,) = note.signatures
    bad = NoteSignature(sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
    body = notes.format_add_checkpoint(0, [], notes.Note(note.text, (bad,)).to_bytes())
    assert decide(body, None).status == 403


def test_unknown_signatures_are_ignored() -> None:
    req = notes.parse_add_checkpoint(HONEST.request(8, 13))
    note = notes.parse_note(req.checkpoint)
    extra = notes.cosign_checkpoint(note.text, notes.generate_signer("w2.example"), NOW)
    body = notes.format_add_checkpoint(8, req.proof, note.with_signatures([extra]).to_bytes())
    assert decide(body, state_at(HONEST, 8)).status == 200


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"old 0\n",
        b"old x\n\nexample.com/log\n1\n",
        b"old 0\n\nnot a note",
        # A signed note whose text is not a checkpoint.
        b"old 0\n\n" + notes.sign_note("hello\n", [LOG]),
    ],
)
def test_malformed_requests_are_bad_requests(body: bytes) -> None:
    d = decide(body, None)
    assert d.status == 400
    assert d.new_state is None


# --- a witness over a growing log ------------------------------------------------


@settings(max_examples=30, deadline=None, database=None)
@given(steps=st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=8))
def test_witness_follows_an_honest_log_and_never_rolls_back(steps: list[int]) -> None:
    state: WitnessState | None = None
    size = 0
    for step in steps:
        new = min(size + step, len(HONEST.entries))
        d = decide(HONEST.request(size, new), state)
        assert d.status == 200, d.reason
        assert d.new_state is not None and d.new_state.size >= size
        state, size = d.new_state, new
        # Any attempt from an older size is refused with the current size.
        if size > 0:
            stale = decide(HONEST.request(size - 1, size), state)
            assert (stale.status, stale.body) == (409, f"{size}\n".encode())
        # The fork is never cosigned once the witness is past entry 5.
        if size > 5:
            assert decide(FORKED.request(size, size), state).status == 409
            if size < len(FORKED.entries):
                assert decide(FORKED.request(size, size + 1), state).status == 422

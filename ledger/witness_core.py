"""The decision logic of a tlog-witness ``add-checkpoint`` call, without HTTP.

Spec: https://c2sp.org/tlog-witness. :func:`decide_add_checkpoint` takes the
request body, the trusted log keys, the stored state and the witness key, and
returns the status code, response body and (on success) the state to persist.
It performs no I/O and reads no clock.

Wiring it to a server (the caller's job):

- Hold a lock per origin (or a database transaction) around *load state →
  decide → persist new_state*. SPEC: tlog-witness "checking the old size
  against the latest checkpoint and persisting the new checkpoint must be
  performed atomically, otherwise the following race can occur" (a rollback
  of K leaves). A compare-and-swap on ``expected_old_size`` works too: write
  only ``WHERE size = decision.expected_old_size``, and answer 409 if no row
  changed.
- SPEC: tlog-witness "The witness MUST persist the new checkpoint before
  responding." Send the body only after ``new_state`` is durably stored.
- Set ``Content-Type`` from ``decision.content_type``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from . import merkle
from .notes import (
    AddCheckpointRequest,
    Checkpoint,
    NoteError,
    NoteVerificationError,
    Signer,
    Verifier,
    cosign_checkpoint,
    format_cosignatures,
    parse_add_checkpoint,
    parse_checkpoint,
    parse_note,
    verify_note,
)

__all__ = ["WitnessDecision", "WitnessState", "decide_add_checkpoint"]

OK = 200
BAD_REQUEST = 400
FORBIDDEN = 403
NOT_FOUND = 404
CONFLICT = 409
UNPROCESSABLE = 422

# SPEC: tlog-witness "The response MUST have a Content-Type of
# text/x.tlog.size." (the 409 for a mismatched old size)
SIZE_CONTENT_TYPE = "text/x.tlog.size"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class WitnessState:
    """The latest checkpoint this witness cosigned for one origin."""

    size: int
    root_hash: bytes


@dataclass(frozen=True)
class WitnessDecision:
    """What to answer, and what to store.

    ``new_state`` is set only for 200, and must be persisted (atomically with
    the check, see the module docstring) before ``body`` is sent.
    ``expected_old_size`` is the stored size the decision was based on, for a
    compare-and-swap write. ``checkpoint`` is set whenever the checkpoint was
    parsed, and ``signature_verified`` tells whether a trusted log key signed
    it: a verified checkpoint refused with 409/422 is evidence of log
    misbehaviour worth keeping (SPEC: tlog-witness "the witness MAY log the
    request even if the consistency proof doesn't verify").
    """

    status: int
    body: bytes
    content_type: str
    reason: str
    origin: str | None = None
    checkpoint: Checkpoint | None = None
    signature_verified: bool = False
    expected_old_size: int | None = None
    new_state: WitnessState | None = None


def _refuse(
    status: int,
    reason: str,
    *,
    origin: str | None = None,
    checkpoint: Checkpoint | None = None,
    verified: bool = False,
    expected_old_size: int | None = None,
) -> WitnessDecision:
    return WitnessDecision(
        status=status,
        body=(reason + "\n").encode("utf-8"),
        content_type=TEXT_CONTENT_TYPE,
        reason=reason,
        origin=origin,
        checkpoint=checkpoint,
        signature_verified=verified,
        expected_old_size=expected_old_size,
    )


def decide_add_checkpoint(
    body: bytes,
    *,
    log_keys: Mapping[str, Sequence[Verifier]],
    get_state: Callable[[str], WitnessState | None],
    cosigner: Signer,
    now: int,
) -> WitnessDecision:
    """Decide the response to one ``add-checkpoint`` request.

    ``log_keys`` maps each trusted origin to the keys trusted to sign its
    checkpoints; ``get_state(origin)`` returns the latest cosigned state or
    ``None`` if this witness never cosigned for that origin; ``cosigner`` is
    the witness key (0x01 or 0x04; cosignatures always use the 0x04 key ID);
    ``now`` is the POSIX time to put in the cosignature.

    Status codes, in the order the checks run:
    400 malformed body (or old size > checkpoint size), 404 unknown origin,
    403 no trusted signature (or a bad one from a trusted key), 409 old size
    is not the stored size (body: stored size and newline, content type
    ``text/x.tlog.size``) or same size with a different root hash, 422
    consistency proof does not verify, 200 cosigned (body: one cosignature
    line).

    Raises :class:`NoteError` only for a configuration error: two different
    keys in ``log_keys`` with the same name and key ID.
    """
    try:
        request: AddCheckpointRequest = parse_add_checkpoint(body)
        note = parse_note(request.checkpoint)
        # The origin is needed to choose keys; the text is not otherwise
        # trusted until a trusted key's signature verifies below.
        checkpoint = parse_checkpoint(note.text)
    except NoteError as exc:
        return _refuse(BAD_REQUEST, f"malformed request: {exc}")
    origin = checkpoint.origin

    # SPEC: tlog-witness "If the checkpoint origin is unknown, the witness MUST
    # respond with a "404 Not Found" HTTP status code."
    trusted = log_keys.get(origin)
    if not trusted:
        return _refuse(NOT_FOUND, f"unknown log origin {origin!r}", origin=origin)

    # SPEC: tlog-witness "The witness MUST verify the checkpoint signature
    # against the public key(s) it trusts for the checkpoint origin, and it
    # MUST ignore signatures from unknown keys." ... "If none of the
    # signatures verify against a trusted public key, the witness MUST respond
    # with a "403 Forbidden" HTTP status code."
    try:
        verify_note(note, trusted)
    except NoteVerificationError as exc:
        return _refuse(FORBIDDEN, f"checkpoint signature: {exc}", origin=origin)

    def refuse(status: int, reason: str, expected: int | None = None) -> WitnessDecision:
        # From here on the checkpoint is signed by the log: keep it as evidence.
        return _refuse(
            status,
            reason,
            origin=origin,
            checkpoint=checkpoint,
            verified=True,
            expected_old_size=expected,
        )

    # SPEC: tlog-witness "The old size MUST be equal to or lower than the
    # checkpoint size. Otherwise, the witness MUST respond with a "400 Bad
    # Request" HTTP status code."
    if request.old_size > checkpoint.size:
        return refuse(
            BAD_REQUEST,
            f"old size {request.old_size} exceeds checkpoint size {checkpoint.size}",
        )

    # SPEC: tlog-witness "The witness MUST check that the old size matches the
    # size of the latest checkpoint it cosigned for the checkpoint's origin (or
    # zero if it never cosigned a checkpoint for that origin)."
    state = get_state(origin) or WitnessState(0, merkle.EMPTY_ROOT)
    if request.old_size != state.size:
        # SPEC: tlog-witness "If it doesn't match, the witness MUST respond with
        # a "409 Conflict" HTTP status code. The response body MUST consist of
        # the tree size of the latest cosigned checkpoint in decimal, followed
        # by a newline (U+000A)."
        return WitnessDecision(
            status=CONFLICT,
            body=f"{state.size}\n".encode("ascii"),
            content_type=SIZE_CONTENT_TYPE,
            reason=f"old size {request.old_size} is not the cosigned size {state.size}",
            origin=origin,
            checkpoint=checkpoint,
            signature_verified=True,
            expected_old_size=state.size,
        )

    # SPEC: tlog-witness "If the old size matches the checkpoint size, the
    # witness MUST check that the root hashes are also identical. If they
    # don't match, the witness MUST respond with a "409 Conflict" HTTP status
    # code." Checked before the proof so a same-size fork is a 409, not a 422.
    if checkpoint.size == state.size and checkpoint.root_hash != state.root_hash:
        return refuse(
            CONFLICT,
            f"fork: size {state.size} was cosigned with root "
            f"{state.root_hash.hex()}, this checkpoint has "
            f"{checkpoint.root_hash.hex()}",
            state.size,
        )

    # SPEC: tlog-witness "The consistency proof lines MUST encode a Merkle
    # Consistency Proof from the old size to the checkpoint size according to
    # [RFC 6962], Section 2.1.2. The proof MUST be empty if the old size is
    # zero. If the Merkle Consistency Proof doesn't verify, the witness MUST
    # respond with a "422 Unprocessable Entity" HTTP status code."
    try:
        merkle.verify_consistency(
            state.size,
            checkpoint.size,
            request.proof,
            state.root_hash,
            checkpoint.root_hash,
        )
    except merkle.ConsistencyProofError as exc:
        return refuse(
            UNPROCESSABLE,
            f"consistency proof does not verify: {exc.reason}",
            state.size,
        )

    # SPEC: tlog-witness "If all the checks above pass, the witness MUST update
    # its record of the latest cosigned checkpoint and respond with a "200
    # Success" HTTP status code." The cosignature covers the exact note text
    # the log signed (extension lines included).
    cosignature = cosign_checkpoint(note.text, cosigner, now)
    return WitnessDecision(
        status=OK,
        body=format_cosignatures([cosignature]),
        content_type=TEXT_CONTENT_TYPE,
        reason="cosigned",
        origin=origin,
        checkpoint=checkpoint,
        signature_verified=True,
        expected_old_size=state.size,
        new_state=WitnessState(checkpoint.size, checkpoint.root_hash),
    )

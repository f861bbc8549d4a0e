"""C2SP signed notes, checkpoints, Ed25519 cosignatures and tlog-witness bodies.

Formats implemented (all pure: no I/O, no clock):

- https://c2sp.org/signed-note: note text, signature lines, key IDs, and the
  verifier / signer key strings of Go's ``golang.org/x/mod/sumdb/note``
  (``name+hexkeyid+base64(type||pubkey)`` and
  ``PRIVATE+KEY+name+hexkeyid+base64(type||seed)``);
- https://c2sp.org/tlog-checkpoint: the checkpoint note body;
- https://c2sp.org/tlog-cosignature: timestamped Ed25519 cosignatures
  (signature type 0x04);
- https://c2sp.org/tlog-witness: the ``add-checkpoint`` request body and the
  cosignature response body.

Ed25519 is pycryptodome's (``Crypto.Signature.eddsa``, RFC 8032 PureEdDSA).
Errors: :class:`NoteError` for anything malformed; its subclass
:class:`NoteVerificationError` (and two further subclasses) when the bytes are
well formed but the signatures do not check out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "MAX_PROOF_LINES",
    "MAX_SIGNATURES",
    "AddCheckpointRequest",
    "Checkpoint",
    "InvalidSignatureError",
    "Note",
    "NoteError",
    "NoteSignature",
    "NoteVerificationError",
    "Signer",
    "UnverifiedNoteError",
    "VerifiedNote",
    "Verifier",
    "cosign_checkpoint",
    "cosignature_message",
    "cosignature_timestamp",
    "format_add_checkpoint",
    "format_cosignatures",
    "generate_signer",
    "key_id",
    "open_checkpoint",
    "parse_add_checkpoint",
    "parse_checkpoint",
    "parse_cosignatures",
    "parse_note",
    "parse_signer_key",
    "parse_verifier_key",
    "sign_checkpoint",
    "sign_note",
    "signer_from_seed",
    "verify_note",
]

# SPEC: signed-note "0x01 — Ed25519 signatures as specified by this document."
ED25519 = 0x01
# SPEC: signed-note "0x04 — Timestamped Ed25519 witness cosignatures, as
# specified by c2sp.org/tlog-cosignature."
COSIGNATURE_V1 = 0x04

# SPEC: signed-note "Verifiers SHOULD apply a maximum limit to the number of
# signatures in a note ... but MUST accept at least up to 16 signatures."
# 100 is the limit Go's note.Open applies.
MAX_SIGNATURES = 100

# SPEC: tlog-witness "The client MUST NOT send more than 63 consistency proof
# lines."
MAX_PROOF_LINES = 63

_MAX_TIMESTAMP = 2**63 - 1
_SIG_PREFIX = "\u2014 "  # em dash, space
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class NoteError(ValueError):
    """Malformed note, key string, checkpoint or witness request body."""


class NoteVerificationError(NoteError):
    """The note is well formed but its signatures do not verify."""


class UnverifiedNoteError(NoteVerificationError):
    """No signature from any of the given keys (all were unknown)."""

    def __init__(self, note: Note) -> None:
        self.note = note
        super().__init__("note has no signature from a known key")


class InvalidSignatureError(NoteVerificationError):
    """A signature from a known key (matching name and key ID) failed."""

    def __init__(self, name: str, key_id: int) -> None:
        self.name = name
        self.key_id = key_id
        super().__init__(f"invalid signature for key {name}+{key_id:08x}")


# --- helpers ------------------------------------------------------------------


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str, what: str) -> bytes:
    # Standard alphabet with padding (RFC 4648 §4), and only its canonical
    # spelling, so one value has one text form.
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc
    if _b64encode(data) != text:
        raise NoteError(f"{what} is not canonical base64")
    return data


def _valid_name(name: str) -> bool:
    # SPEC: signed-note "Key names MUST be non-empty and MUST NOT contain any
    # Unicode spaces or plus (U+002B) characters."
    return (
        bool(name)
        and "+" not in name
        and not any(c.isspace() for c in name)
        and _valid_text(name)
        and "\n" not in name
    )


def _valid_text(text: str) -> bool:
    # SPEC: signed-note "Signed notes MUST be valid UTF-8 and MUST NOT contain
    # any ASCII control characters (those below U+0020) other than newline."
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(c < " " and c != "\n" for c in text)


def _decimal(text: str, what: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise NoteError(f"{what} {text!r} is not a decimal without leading zeroes")
    return int(text)


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    """The 32-bit key ID of a key.

    SPEC: signed-note "key ID = SHA-256(key name || 0x0A || signature type ||
    public key)[:4]" (read as a big-endian uint32).
    """
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([sig_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def cosignature_message(note_text: str, timestamp: int) -> bytes:
    """The bytes an Ed25519 cosigner signs for ``note_text`` at ``timestamp``.

    SPEC: tlog-cosignature "The signed message MUST be two newline (U+000A)
    terminated lines (one header line and one timestamp line) followed by the
    whole note body of the cosigned checkpoint (including the final newline,
    but not including any signature lines)." "The header line MUST be the
    fixed string cosignature/v1" and "The timestamp line MUST consist of the
    string time, a single space (0x20), and timestamped_signature.timestamp
    encoded as an ASCII decimal with no leading zeroes."
    """
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise NoteError(f"timestamp {timestamp} is outside 0..2^63-1")
    return f"cosignature/v1\ntime {timestamp}\n".encode() + note_text.encode("utf-8")


# --- keys ----------------------------------------------------------------------

_SUPPORTED_TYPES = (ED25519, COSIGNATURE_V1)


@dataclass(frozen=True)
class Verifier:
    """A public key that checks note signatures of one type (0x01 or 0x04)."""

    name: str
    sig_type: int
    public_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}")
        if self.sig_type not in _SUPPORTED_TYPES:
            raise NoteError(f"unsupported signature type 0x{self.sig_type:02x}")
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key is 32 bytes")
        _ = self._key  # reject points that are not on the curve now, not later

    @cached_property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public_key)

    @cached_property
    def _key(self) -> ECC.EccKey:
        try:
            return eddsa.import_public_key(self.public_key)
        except ValueError as exc:
            raise NoteError("not a valid Ed25519 public key") from exc

    def verify(self, note_text: bytes, signature: bytes) -> bool:
        """Whether ``signature`` (without the 4-byte key ID) signs ``note_text``.

        For type 0x04 the signature is ``timestamp (8 bytes, big-endian) ||
        Ed25519 signature`` over :func:`cosignature_message`.
        """
        if self.sig_type == COSIGNATURE_V1:
            # SPEC: tlog-cosignature "The signature MUST be a
            # timestamped_signature structure" — u64 timestamp then 64 bytes.
            if len(signature) != 8 + 64:
                return False
            timestamp = int.from_bytes(signature[:8], "big")
            # SPEC: tlog-cosignature "It MUST NOT exceed 2^63 - 1".
            if timestamp > _MAX_TIMESTAMP:
                return False
            message = cosignature_message(note_text.decode("utf-8"), timestamp)
            signature = signature[8:]
        else:
            message = note_text
        if len(signature) != 64:
            return False
        try:
            eddsa.new(self._key, "rfc8032").verify(message, signature)
        except ValueError:
            return False
        return True

    def to_vkey(self) -> str:
        """The verifier key string ``name+hexkeyid+base64(type||pubkey)``."""
        raw = bytes([self.sig_type]) + self.public_key
        return f"{self.name}+{self.key_id:08x}+{_b64encode(raw)}"

    def for_cosignatures(self) -> Verifier:
        """The same name and key as a cosignature (0x04) verifier.

        A witness operator may hand out an ordinary 0x01 key; its cosignatures
        carry the 0x04 key ID (as transparency-dev/formats does).
        """
        return Verifier(self.name, COSIGNATURE_V1, self.public_key)


@dataclass(frozen=True)
class Signer:
    """An Ed25519 private key (RFC 8032 32-byte seed) with its key name."""

    name: str
    sig_type: int
    seed: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _valid_name(self.name):
            raise NoteError(f"invalid key name {self.name!r}")
        if self.sig_type not in _SUPPORTED_TYPES:
            raise NoteError(f"unsupported signature type 0x{self.sig_type:02x}")
        if len(self.seed) != 32:
            raise NoteError("an Ed25519 seed is 32 bytes")

    @cached_property
    def _key(self) -> ECC.EccKey:
        return eddsa.import_private_key(self.seed)

    @cached_property
    def public_key(self) -> bytes:
        return self._key.public_key().export_key(format="raw")

    @cached_property
    def key_id(self) -> int:
        return key_id(self.name, self.sig_type, self.public_key)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.sig_type, self.public_key)

    def for_cosignatures(self) -> Signer:
        """The same key signing timestamped cosignatures (type 0x04)."""
        return Signer(self.name, COSIGNATURE_V1, self.seed)

    def sign(self, note_text: bytes, *, timestamp: int | None = None) -> bytes:
        """Signature bytes (without the key ID) over ``note_text``.

        Type 0x04 needs ``timestamp`` (POSIX seconds) and returns
        ``timestamp (8 bytes, big-endian) || Ed25519 signature``.
        """
        signer = eddsa.new(self._key, "rfc8032")
        if self.sig_type == COSIGNATURE_V1:
            if timestamp is None:
                raise NoteError("a cosignature needs a timestamp")
            message = cosignature_message(note_text.decode("utf-8"), timestamp)
            # SPEC: tlog-cosignature "these are serialized in sequence, with
            # the timestamp encoded in big-endian order."
            return timestamp.to_bytes(8, "big") + signer.sign(message)
        return signer.sign(note_text)

    def to_skey(self) -> str:
        """The signer key string ``PRIVATE+KEY+name+hexkeyid+base64(type||seed)``."""
        raw = bytes([self.sig_type]) + self.seed
        return f"PRIVATE+KEY+{self.name}+{self.key_id:08x}+{_b64encode(raw)}"


def signer_from_seed(name: str, seed: bytes, sig_type: int = ED25519) -> Signer:
    """A signer for an existing 32-byte Ed25519 seed."""
    return Signer(name, sig_type, bytes(seed))


def generate_signer(name: str, sig_type: int = ED25519) -> Signer:
    """A signer with a fresh random Ed25519 key."""
    key = ECC.generate(curve="Ed25519")
    return Signer(name, sig_type, key.seed)


def _split_key(text: str, parts: int, what: str) -> list[str]:
    # Names cannot contain "+", but base64 key material can: split from the
    # left only (as Go's chop does).
    fields = text.split("+", parts - 1)
    if len(fields) != parts:
        raise NoteError(f"malformed {what}")
    return fields


def _parse_key_fields(name: str, hex_id: str, b64: str, what: str) -> tuple[int, int, bytes]:
    if not _valid_name(name):
        raise NoteError(f"malformed {what}: invalid key name")
    if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
        raise NoteError(f"malformed {what}: key ID must be 8 lowercase hex digits")
    raw = _b64decode(b64, f"{what} key material")
    if len(raw) < 1:
        raise NoteError(f"malformed {what}: no key material")
    sig_type, material = raw[0], raw[1:]
    if sig_type not in _SUPPORTED_TYPES:
        raise NoteError(f"{what}: unsupported signature type 0x{sig_type:02x}")
    if len(material) != 32:
        raise NoteError(f"malformed {what}: Ed25519 key material is 32 bytes")
    return int(hex_id, 16), sig_type, material


def parse_verifier_key(vkey: str) -> Verifier:
    """Parse ``name+hexkeyid+base64(type||pubkey)`` (types 0x01 and 0x04).

    Raises :class:`NoteError` if malformed or if the key ID does not match the
    name and key (as Go's ``note.NewVerifier``).
    """
    name, hex_id, b64 = _split_key(vkey, 3, "verifier key")
    claimed, sig_type, public_key = _parse_key_fields(name, hex_id, b64, "verifier key")
    verifier = Verifier(name, sig_type, public_key)
    if verifier.key_id != claimed:
        raise NoteError("verifier key: key ID does not match name and key")
    return verifier


def parse_signer_key(skey: str) -> Signer:
    """Parse ``PRIVATE+KEY+name+hexkeyid+base64(type||seed)``.

    The key ID is checked against the public key derived from the seed.
    """
    private, key, name, hex_id, b64 = _split_key(skey, 5, "signer key")
    if (private, key) != ("PRIVATE", "KEY"):
        raise NoteError("malformed signer key: missing PRIVATE+KEY prefix")
    claimed, sig_type, seed = _parse_key_fields(name, hex_id, b64, "signer key")
    signer = Signer(name, sig_type, seed)
    if signer.key_id != claimed:
        raise NoteError("signer key: key ID does not match name and key")
    return signer


# --- notes ---------------------------------------------------------------------


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: key name, key ID and the signature bytes after it."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        """``— <name> base64(keyid || signature)`` plus newline.

        SPEC: signed-note "em dash (U+2014), space (U+0020), key name, space,
        base64-encoded signature, newline."
        """
        raw = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_SIG_PREFIX}{self.name} {_b64encode(raw)}\n"

    @classmethod
    def parse_line(cls, line: str) -> NoteSignature:
        """Parse one signature line without its newline."""
        if not line.startswith(_SIG_PREFIX):
            raise NoteError("signature line does not start with an em dash and space")
        name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
        if not sep or not _valid_name(name):
            raise NoteError("signature line has an invalid key name")
        raw = _b64decode(b64, "signature")
        # SPEC: signed-note "Signatures are the base64 encoding of 4+n bytes.
        # The first four bytes in the signature are the uint32 key ID stored in
        # big-endian order."
        if len(raw) < 5:
            raise NoteError("signature is too short")
        return cls(name, int.from_bytes(raw[:4], "big"), raw[4:])


@dataclass(frozen=True)
class Note:
    """A note's text (ending in newline) and its signatures, verified or not."""

    text: str
    signatures: tuple[NoteSignature, ...] = ()

    def to_bytes(self) -> bytes:
        """Text, blank line, signature lines; see :func:`parse_note`."""
        _check_note_text(self.text)
        if not self.signatures:
            raise NoteError("a signed note needs at least one signature")
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode("utf-8")

    def with_signatures(self, extra: Iterable[NoteSignature]) -> Note:
        """This note plus ``extra``; an old signature by the same (name, key ID)
        is replaced, as Go's ``note.Sign`` does."""
        extra = tuple(extra)
        replaced = {(s.name, s.key_id) for s in extra}
        kept = tuple(s for s in self.signatures if (s.name, s.key_id) not in replaced)
        return Note(self.text, kept + extra)


def _check_note_text(text: str) -> None:
    # SPEC: signed-note "A signed note consists of a text ending in newline
    # (U+000A), followed by a blank line (only a newline), followed by one or
    # more signature lines".
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    if not _valid_text(text):
        raise NoteError("note text has control characters or is not valid Unicode")


def parse_note(data: bytes) -> Note:
    """Split signed-note bytes into text and signature lines; verify nothing.

    Use :func:`verify_note` before trusting the text. Raises
    :class:`NoteError` for anything that is not a well-formed signed note.
    """
    try:
        msg = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("note is not valid UTF-8") from exc
    if not _valid_text(msg):
        raise NoteError("note contains control characters other than newline")
    # SPEC: signed-note "the text is separated from the signatures by the last
    # empty line in the note."
    split = msg.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    text, block = msg[: split + 1], msg[split + 2 :]
    if not block or not block.endswith("\n"):
        raise NoteError("note signatures must be one or more newline-ended lines")
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    return Note(text, tuple(NoteSignature.parse_line(line) for line in lines))


def sign_note(text: str, signers: Sequence[Signer], *, timestamp: int | None = None) -> bytes:
    """Sign ``text`` (which must end in a newline) with each signer.

    ``timestamp`` (POSIX seconds) is required when a signer is a 0x04
    cosigner and ignored otherwise.
    """
    _check_note_text(text)
    if not signers:
        raise NoteError("no signers")
    body = text.encode("utf-8")
    sigs = tuple(
        NoteSignature(s.name, s.key_id, s.sign(body, timestamp=timestamp)) for s in signers
    )
    return Note(text, sigs).to_bytes()


@dataclass(frozen=True)
class VerifiedNote:
    """A note whose ``verified`` signatures all checked out.

    ``unverified`` lists signatures from keys the caller did not supply; they
    were ignored, as the spec requires, not checked.
    """

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]

    @property
    def note(self) -> Note:
        return Note(self.text, self.verified + self.unverified)


def verify_note(data: bytes | Note, verifiers: Sequence[Verifier]) -> VerifiedNote:
    """Parse (if bytes) and verify a note against trusted keys.

    SPEC: signed-note "Verifiers MUST ignore signatures from unknown keys,
    even if they share a name or ID (but not both) with a known key. If the
    key name and ID match a known key, verifiers MUST verify the signature. If
    a signature from a known key fails to verify, clients SHOULD reject the
    whole note. If no signature from a known key verifies successfully,
    clients MUST reject the note."

    Raises :class:`InvalidSignatureError` for a bad signature by a known key,
    :class:`UnverifiedNoteError` when no known key signed, and
    :class:`NoteError` for malformed input or two different keys sharing a
    name and key ID.
    """
    note = parse_note(data) if isinstance(data, bytes) else data
    _check_note_text(note.text)
    known: dict[tuple[str, int], Verifier] = {}
    for v in verifiers:
        slot = (v.name, v.key_id)
        if slot in known and known[slot] != v:
            raise NoteError(f"ambiguous key {v.name}+{v.key_id:08x}")
        known[slot] = v

    text = note.text.encode("utf-8")
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen: set[tuple[str, int]] = set()
    for sig in note.signatures:
        slot = (sig.name, sig.key_id)
        verifier = known.get(slot)
        if verifier is None:
            if sig not in unverified:
                unverified.append(sig)
            continue
        # Repeated signatures by one key: the first is the one checked (as Go).
        if slot in seen:
            continue
        seen.add(slot)
        if not verifier.verify(text, sig.signature):
            raise InvalidSignatureError(sig.name, sig.key_id)
        verified.append(sig)
    if not verified:
        raise UnverifiedNoteError(note)
    return VerifiedNote(note.text, tuple(verified), tuple(unverified))


# --- checkpoints -----------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A tlog-checkpoint note body: origin, tree size, root hash, extensions."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The note text, one newline-terminated line per field.

        SPEC: tlog-checkpoint "The note text is a sequence of at least three
        non-empty lines, separated by newlines (U+000A)."
        """
        # SPEC: tlog-checkpoint "The origin MUST be non-empty".
        if not self.origin or "\n" in self.origin:
            raise NoteError("checkpoint origin must be one non-empty line")
        if self.size < 0:
            raise NoteError("checkpoint size must be >= 0")
        if len(self.root_hash) != 32:
            raise NoteError("checkpoint root hash must be 32 bytes (SHA-256)")
        for ext in self.extensions:
            # SPEC: tlog-checkpoint "Extension lines, if any, MUST be non-empty."
            if not ext or "\n" in ext:
                raise NoteError("checkpoint extension lines must be non-empty lines")
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        text = "".join(line + "\n" for line in lines)
        _check_note_text(text)
        return text


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text (as returned in ``Note.text``).

    Raises :class:`NoteError` unless the text is exactly: origin, tree size
    (decimal, no leading zeroes), base64 32-byte root hash, then optional
    non-empty extension lines, each ending in a newline.
    """
    if not text.endswith("\n"):
        raise NoteError("checkpoint text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise NoteError("checkpoint needs origin, size and root hash lines")
    origin, size_line, root_line, *extensions = lines
    # SPEC: tlog-checkpoint "The origin MUST be non-empty".
    if not origin:
        raise NoteError("checkpoint origin is empty")
    # SPEC: tlog-checkpoint "the ASCII decimal representation of the number of
    # leaves in the tree, with no leading zeroes (unless the tree is empty, in
    # which case the tree size is 0)."
    size = _decimal(size_line, "checkpoint size")
    # SPEC: tlog-checkpoint "the base64 encoding of the root of the [RFC 6962]
    # Merkle hash tree at the specified tree size."
    root = _b64decode(root_line, "checkpoint root hash")
    if len(root) != 32:
        raise NoteError("checkpoint root hash must be 32 bytes (SHA-256)")
    if any(not ext for ext in extensions):
        raise NoteError("checkpoint extension lines must be non-empty")
    return Checkpoint(origin, size, root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> bytes:
    """The signed checkpoint note.

    SPEC: tlog-checkpoint "The log's key name in its signature line SHOULD
    match the origin line." — we make it a MUST for our own log.
    """
    if signer.name != checkpoint.origin:
        raise NoteError("the log's key name must equal the checkpoint origin")
    return sign_note(checkpoint.body(), [signer])


def open_checkpoint(data: bytes, verifiers: Sequence[Verifier]) -> tuple[Checkpoint, VerifiedNote]:
    """Verify a signed checkpoint note, then parse its text.

    The text is parsed only after a trusted signature verified (the
    signed-note spec: "The text MUST be ignored unless the note is signed by
    a trusted key"). Raises :class:`NoteError` or a subclass.
    """
    verified = verify_note(data, verifiers)
    return parse_checkpoint(verified.text), verified


# --- cosignatures ----------------------------------------------------------------


def cosign_checkpoint(
    checkpoint: Checkpoint | str, cosigner: Signer, timestamp: int
) -> NoteSignature:
    """A tlog-cosignature/v1 signature on a checkpoint, as a note signature.

    ``cosigner`` may be a 0x01 or 0x04 signer; the key ID is always the 0x04
    one. SPEC: tlog-cosignature "The key ID for Ed25519 cosignatures MUST be
    computed as SHA-256(<name> || "\\n" || 0x04 || 32-byte Ed25519 cosigner
    public key)[:4]".
    """
    body = checkpoint.body() if isinstance(checkpoint, Checkpoint) else checkpoint
    parse_checkpoint(body)  # only checkpoints are cosigned
    signer = cosigner.for_cosignatures()
    signature = signer.sign(body.encode("utf-8"), timestamp=timestamp)
    return NoteSignature(signer.name, signer.key_id, signature)


def cosignature_timestamp(signature: NoteSignature) -> int:
    """The timestamp inside an Ed25519 cosignature (not verified here)."""
    if len(signature.signature) != 8 + 64:
        raise NoteError("not an Ed25519 cosignature (wrong length)")
    return int.from_bytes(signature.signature[:8], "big")


def format_cosignatures(signatures: Iterable[NoteSignature]) -> bytes:
    """The witness's 200 response body: signature lines only.

    SPEC: tlog-witness "The response body MUST be a sequence of one or more
    note signature lines, each starting with the — character (U+2014) and
    ending with a newline character (U+000A)."
    """
    lines = [s.line() for s in signatures]
    if not lines:
        raise NoteError("a cosignature response needs at least one signature")
    return "".join(lines).encode("utf-8")


def parse_cosignatures(body: bytes) -> tuple[NoteSignature, ...]:
    """Parse a witness response body into signature lines (not verified).

    To verify, attach them to the checkpoint note (``Note.with_signatures``)
    and call :func:`verify_note` with the witness's 0x04 verifier, as the
    tlog-witness spec suggests.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("response is not valid UTF-8") from exc
    if not text.endswith("\n") or not _valid_text(text):
        raise NoteError("response must be newline-terminated signature lines")
    lines = text[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"more than {MAX_SIGNATURES} signature lines")
    return tuple(NoteSignature.parse_line(line) for line in lines)


# --- tlog-witness add-checkpoint ---------------------------------------------------


@dataclass(frozen=True)
class AddCheckpointRequest:
    """The body of ``POST <prefix>/add-checkpoint``.

    ``checkpoint`` is the signed checkpoint note exactly as sent.
    """

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: bytes

    def to_bytes(self) -> bytes:
        return format_add_checkpoint(self.old_size, self.proof, self.checkpoint)


def format_add_checkpoint(old_size: int, proof: Sequence[bytes], checkpoint: bytes) -> bytes:
    """Build an add-checkpoint request body.

    SPEC: tlog-witness "The request body MUST be a sequence of an old size
    line, zero or more consistency proof lines, and an empty line, followed by
    a checkpoint." "Each line MUST terminate in a newline character (U+000A)."
    """
    if old_size < 0:
        raise NoteError("old size must be >= 0")
    if len(proof) > MAX_PROOF_LINES:
        raise NoteError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    if any(len(h) != 32 for h in proof):
        raise NoteError("consistency proof hashes must be 32 bytes")
    # SPEC: tlog-witness "The old size line MUST consist of the string old, a
    # single space (0x20), and the tree size of the previous checkpoint encoded
    # as an ASCII decimal with no leading zeroes".
    head = f"old {old_size}\n" + "".join(_b64encode(h) + "\n" for h in proof) + "\n"
    return head.encode("ascii") + checkpoint


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """Parse an add-checkpoint request body (the checkpoint is not verified).

    Raises :class:`NoteError` for a malformed body; a witness answers that
    with 400.
    """
    # Proof lines and the old-size line are never empty, so the first blank
    # line ends the header; the checkpoint note has its own blank line later.
    head, sep, checkpoint = body.partition(b"\n\n")
    if not sep:
        raise NoteError("request has no blank line before the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError as exc:
        raise NoteError("request header is not ASCII") from exc
    if not lines[0].startswith("old "):
        raise NoteError("request does not start with an old size line")
    old_size = _decimal(lines[0][4:], "old size")
    proof_lines = lines[1:]
    if len(proof_lines) > MAX_PROOF_LINES:
        raise NoteError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in proof_lines:
        # SPEC: tlog-witness "Each consistency proof line MUST encode a single
        # hash in base64."
        h = _b64decode(line, "consistency proof line")
        if len(h) != 32:
            raise NoteError("consistency proof hashes must be 32 bytes")
        proof.append(h)
    if not checkpoint:
        raise NoteError("request has no checkpoint")
    return AddCheckpointRequest(old_size, tuple(proof), checkpoint)

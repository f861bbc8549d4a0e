#!/usr/bin/env python3
"""Verify the BIZi portal's ledger from the outside: one file, auditable on its own.

This program deliberately shares no code with the portal. It needs only the
Python standard library (3.9 or later) and pycryptodome (``pip install
pycryptodome``, imported as ``Crypto``) for Ed25519, and re-implements
everything it checks, so that a member's engineer can read this one file and
trust its verdict without trusting the portal's code:

- RFC 9162 §2.1 Merkle tree hashing (leaf ``SHA-256(0x00 || entry)``, node
  ``SHA-256(0x01 || left || right)``), and verification of inclusion proofs
  (§2.1.3.2) and consistency proofs (§2.1.4.2);
- C2SP signed notes (https://c2sp.org/signed-note), checkpoints
  (https://c2sp.org/tlog-checkpoint) and Ed25519 witness cosignatures
  (https://c2sp.org/tlog-cosignature, ``cosignature/v1``);
- the canonical JSON of ledger entries (keys sorted, no insignificant
  whitespace, UTF-8, no NaN).

What it does, printing one line per check:

1. gets the log's verifier key (``GET /api/v1/ledger/public-key``); if you
   pin one with ``--vkey``/``--vkey-file`` the server's must be the same.
   Without a pinned key the one served is trusted on first use, and the output
   says so (with ``--state`` it is pinned from then on);
2. gets the latest checkpoint (``GET /api/v1/ledger/checkpoint``) and checks
   the log's signature and, for each ``--witness-vkey``, a cosignature;
3. downloads every entry up to the checkpoint's size, checks each one's bytes
   are canonical JSON equal to the decoded entry and hash to its leaf hash, and
   recomputes the root, which must equal the checkpoint's;
4. checks inclusion proofs for a random sample of entries (first and last
   always) against the checkpoint root — redundant with step 3 for entries,
   but it checks the proofs the portal hands to everyone else;
5. with ``--state FILE``: proves the new checkpoint consistent with the one
   verified last time (a fork or rollback fails loudly), then saves it.

Ends with ``OK: verified N entries up to tree size N, root <base64>`` (exit
0) or ``FAILED: <the first problem>`` (exit 1). Usage and network errors
(including HTTP error statuses) exit 2: they say nothing either way.

Example::

    python bizi_verify.py --url https://portal.example --token "$TOKEN" \\
        --vkey-file bizi-log.vkey --state bizi-ledger.state \\
        --witness-vkey 'witness.northbank.example/1+8c1d6a0e+BN...'
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import os
import random
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

try:
    from Crypto.Signature import eddsa
except ImportError:  # pragma: no cover - depends on the machine
    sys.stderr.write("bizi_verify needs pycryptodome: pip install pycryptodome\n")
    sys.exit(2)

HASH_SIZE = 32
PAGE = 1000  # the portal serves at most 1000 entries per call
STATE_VERSION = 1

# signed-note signature types
ED25519 = 0x01
COSIGNATURE_V1 = 0x04


class Failed(Exception):
    """Verification failed: the portal served something that does not check out."""


class Unavailable(Exception):
    """Could not ask: network error, HTTP error status, bad arguments."""


def say(status: str, message: str) -> None:
    print(f"{status:<5}{message}", flush=True)


# --- RFC 9162 Merkle trees ---------------------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


EMPTY_ROOT = sha256(b"")  # RFC 9162 §2.1.1 "MTH({}) = HASH()"


def leaf_hash(entry: bytes) -> bytes:
    # RFC 9162 §2.1.1 "MTH({d(0)}) = HASH(0x00 || d(0))"
    return sha256(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    # RFC 9162 §2.1.1 "MTH(D_n) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))"
    return sha256(b"\x01" + left + right)


def merkle_root(leaf_hashes: list[bytes]) -> bytes:
    """MTH over the leaf hashes, with the RFC's split at the largest power of two < n.

    Computed with a stack of perfect subtrees (like binary counting), then
    folded right to left: the same tree as the RFC's recursive definition,
    in O(n) time and O(log n) memory.
    """
    stack: list[tuple[int, bytes]] = []  # (height, hash), heights strictly decreasing
    for h in leaf_hashes:
        height = 0
        while stack and stack[-1][0] == height:
            h = node_hash(stack.pop()[1], h)
            height += 1
        stack.append((height, h))
    if not stack:
        return EMPTY_ROOT
    root = stack[-1][1]
    for _, h in reversed(stack[:-1]):
        root = node_hash(h, root)
    return root


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, path: list[bytes], root: bytes
) -> str | None:
    """RFC 9162 §2.1.3.2, step by step. Returns None if it verifies, else why not."""
    if any(len(h) != HASH_SIZE for h in [leaf, root, *path]):
        return "a hash is not 32 bytes"
    # 1. "If leaf_index is greater than or equal to tree_size, then fail"
    if not 0 <= index < tree_size:
        return "index outside the tree"
    # 2. "Set fn to leaf_index and sn to tree_size - 1."  3. "Set r to hash."
    fn, sn, r = index, tree_size - 1, leaf
    # 4. "For each value p in the inclusion_path array:"
    for p in path:
        # 4a. "If sn is 0, then stop the iteration and fail"
        if sn == 0:
            return "proof too long"
        # 4b. "If LSB(fn) is set, or if fn is equal to sn, then:"
        if fn & 1 or fn == sn:
            r = node_hash(p, r)  # "Set r to HASH(0x01 || p || r)"
            # "If LSB(fn) is not set, then right-shift both fn and sn equally
            # until either LSB(fn) is set or fn is 0."
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)  # "Otherwise: Set r to HASH(0x01 || r || p)"
        # 4c. "Finally, right-shift both fn and sn one time."
        fn >>= 1
        sn >>= 1
    # 5. "If sn is equal to 0 and r and the root_hash are equal, then the log
    # has proven the inclusion of hash. Otherwise, fail"
    if sn != 0:
        return "proof too short"
    if r != root:
        return "computed root differs from the checkpoint root"
    return None


def verify_consistency(
    first: int, second: int, path: list[bytes], first_root: bytes, second_root: bytes
) -> str | None:
    """RFC 9162 §2.1.4.2, step by step. Returns None if it verifies, else why not.

    Outside the RFC's 0 < first < second: equal sizes need an empty proof and
    equal roots; from size 0 the proof must be empty (the empty tree is a
    prefix of every tree).
    """
    if any(len(h) != HASH_SIZE for h in [first_root, second_root, *path]):
        return "a hash is not 32 bytes"
    if not 0 <= first <= second:
        return f"the tree shrank from {first} to {second} entries"
    if first == second:
        if path:
            return "non-empty proof between equal sizes"
        return None if first_root == second_root else "same size, different roots"
    if first == 0:
        return None if not path else "non-empty proof from the empty tree"
    # 1. "If consistency_path is an empty array, stop and fail"
    if not path:
        return "empty proof"
    path = list(path)
    # 2. "If first is an exact power of 2, then prepend first_hash to the
    # consistency_path array."
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # 3. "Set fn to first - 1 and sn to second - 1."
    fn, sn = first - 1, second - 1
    # 4. "If LSB(fn) is set, then right-shift both fn and sn equally until
    # LSB(fn) is not set."
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5. "Set both fr and sr to the first value in the consistency_path array."
    fr = sr = path[0]
    # 6. "For each subsequent value c in the consistency_path array:"
    for c in path[1:]:
        # 6a. "If sn is 0, then stop the iteration and fail"
        if sn == 0:
            return "proof too long"
        # 6b. "If LSB(fn) is set, or if fn is equal to sn, then:"
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)  # "Set fr to HASH(0x01 || c || fr)"
            sr = node_hash(c, sr)  # "Set sr to HASH(0x01 || c || sr)"
            # "If LSB(fn) is not set, then right-shift both fn and sn equally
            # until either LSB(fn) is set or fn is 0."
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)  # "Otherwise: Set sr to HASH(0x01 || sr || c)"
        # 6c. "Finally, right-shift both fn and sn one time."
        fn >>= 1
        sn >>= 1
    # 7. "verify that the fr calculated is equal to the first_hash supplied,
    # that the sr calculated is equal to the second_hash supplied, and that sn
    # is 0."
    if sn != 0:
        return "proof too short"
    if fr != first_root:
        return "the old tree is not a prefix of the new one (first root differs)"
    if sr != second_root:
        return "computed new root differs from the checkpoint root"
    return None


# --- C2SP signed notes, checkpoints, cosignatures ------------------------------------


def b64decode(text: str, what: str) -> bytes:
    """Strict standard base64 with padding, in its one canonical spelling."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Failed(f"{what} is not valid base64") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise Failed(f"{what} is not canonical base64")
    return data


def key_id(name: str, sig_type: int, public_key: bytes) -> int:
    # signed-note: "key ID = SHA-256(key name || 0x0A || signature type ||
    # public key)[:4]", a big-endian uint32.
    return int.from_bytes(sha256(name.encode() + b"\n" + bytes([sig_type]) + public_key)[:4], "big")


def valid_key_name(name: str) -> bool:
    # signed-note: "Key names MUST be non-empty and MUST NOT contain any
    # Unicode spaces or plus (U+002B) characters."
    return bool(name) and "+" not in name and not any(c.isspace() or c < " " for c in name)


class VerifierKey:
    """A note verifier key ``name+hexkeyid+base64(type || 32-byte Ed25519 key)``."""

    def __init__(self, vkey: str) -> None:
        self.text = vkey.strip()
        parts = self.text.split("+", 2)  # names have no "+", base64 may
        if len(parts) != 3:
            raise Unavailable(f"malformed verifier key {self.text!r}")
        self.name, hex_id, b64 = parts
        if not valid_key_name(self.name) or len(hex_id) != 8:
            raise Unavailable(f"malformed verifier key {self.text!r}")
        try:
            raw = b64decode(b64, "verifier key")
            claimed = int(hex_id, 16)
        except (Failed, ValueError) as exc:
            raise Unavailable(f"malformed verifier key {self.text!r}") from exc
        if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise Unavailable(f"verifier key {self.text!r} is not an Ed25519 note key")
        self.sig_type, self.public_key = raw[0], raw[1:]
        if key_id(self.name, self.sig_type, self.public_key) != claimed:
            raise Unavailable(f"verifier key {self.text!r}: key ID does not match name and key")
        try:
            self._key = eddsa.import_public_key(self.public_key)
        except ValueError as exc:
            raise Unavailable(f"verifier key {self.text!r}: not an Ed25519 point") from exc

    def cosignature_key_id(self) -> int:
        # tlog-cosignature: "The key ID for Ed25519 cosignatures MUST be computed
        # as SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 cosigner public
        # key)[:4]". A 0x01 witness key is accepted and used the same way.
        return key_id(self.name, COSIGNATURE_V1, self.public_key)

    def ed25519_ok(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            eddsa.new(self._key, "rfc8032").verify(message, signature)
        except ValueError:
            return False
        return True


def split_note(data: bytes) -> tuple[str, list[tuple[str, int, bytes]]]:
    """A signed note's text and its (name, key ID, signature) lines; nothing verified.

    signed-note: "A signed note consists of a text ending in newline (U+000A),
    followed by a blank line (only a newline), followed by one or more
    signature lines", "the text is separated from the signatures by the last
    empty line in the note"; each signature line is "em dash (U+2014), space
    (U+0020), key name, space, base64-encoded signature, newline", and the
    signature's first four bytes are the big-endian key ID.
    """
    try:
        msg = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Failed("checkpoint note is not UTF-8") from exc
    # "MUST NOT contain any ASCII control characters ... other than newline"
    if any(c < " " and c != "\n" for c in msg):
        raise Failed("checkpoint note contains control characters")
    split = msg.rfind("\n\n")
    if split < 0 or not msg.endswith("\n"):
        raise Failed("checkpoint is not a signed note (no blank line before signatures)")
    text, block = msg[: split + 1], msg[split + 2 :]
    signatures = []
    for line in block[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise Failed(f"malformed signature line {line!r}")
        name, sep, b64 = line[2:].partition(" ")
        raw = b64decode(b64, "signature")
        if not sep or not valid_key_name(name) or len(raw) < 5:
            raise Failed(f"malformed signature line {line!r}")
        signatures.append((name, int.from_bytes(raw[:4], "big"), raw[4:]))
    return text, signatures


def parse_checkpoint(text: str) -> tuple[str, int, bytes, list[str]]:
    """(origin, size, root hash, extension lines) of a tlog-checkpoint note text."""
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise Failed("checkpoint needs origin, size and root hash lines")
    origin, size_line, root_line, *extensions = lines
    # tlog-checkpoint: origin non-empty; size "ASCII decimal ... with no
    # leading zeroes"; root hash base64 of the RFC 6962 root; extension lines
    # non-empty.
    if not origin:
        raise Failed("checkpoint origin is empty")
    if not size_line.isdigit() or (size_line != "0" and size_line.startswith("0")):
        raise Failed(f"checkpoint size {size_line!r} is not a decimal number")
    root = b64decode(root_line, "checkpoint root hash")
    if len(root) != HASH_SIZE:
        raise Failed("checkpoint root hash is not 32 bytes")
    if any(not e for e in extensions):
        raise Failed("empty checkpoint extension line")
    return origin, int(size_line), root, extensions


def find_signatures(signatures: list[tuple[str, int, bytes]], name: str, kid: int) -> list[bytes]:
    return [sig for n, k, sig in signatures if n == name and k == kid]


def check_log_signature(
    text: str, signatures: list[tuple[str, int, bytes]], log: VerifierKey
) -> None:
    # signed-note: "If a signature from a known key fails to verify, clients
    # SHOULD reject the whole note. If no signature from a known key verifies
    # successfully, clients MUST reject the note."
    kid = key_id(log.name, log.sig_type, log.public_key)
    found = find_signatures(signatures, log.name, kid)
    if not found:
        raise Failed(f"checkpoint is not signed by the log key {log.name}+{kid:08x}")
    for sig in found:
        if log.sig_type != ED25519 or not log.ed25519_ok(text.encode("utf-8"), sig):
            raise Failed(f"checkpoint signature by the log key {log.name}+{kid:08x} is invalid")


def check_cosignature(
    text: str, signatures: list[tuple[str, int, bytes]], witness: VerifierKey
) -> int:
    """Verify the witness's cosignature/v1 on the checkpoint; return its timestamp."""
    kid = witness.cosignature_key_id()
    found = find_signatures(signatures, witness.name, kid)
    if not found:
        raise Failed(f"no cosignature from witness {witness.name}+{kid:08x}")
    sig = found[0]
    # tlog-cosignature: the signature is a u64 big-endian timestamp then the
    # 64-byte Ed25519 signature over "cosignature/v1\n" + "time <T>\n" + the
    # whole checkpoint note text.
    if len(sig) != 8 + 64:
        raise Failed(f"cosignature from witness {witness.name} has the wrong length")
    timestamp = int.from_bytes(sig[:8], "big")
    message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
    if timestamp > 2**63 - 1 or not witness.ed25519_ok(message, sig[8:]):
        raise Failed(f"cosignature from witness {witness.name}+{kid:08x} is invalid")
    return timestamp


# --- canonical JSON -----------------------------------------------------------------


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8 (not \\u escapes), no NaN."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_canonical(data: bytes, decoded: Any) -> str | None:
    """None if ``data`` is the canonical JSON of ``decoded``, else why not.

    Compared as canonical bytes, not as Python values, because Python's
    ``==`` equates ``true`` with ``1`` and ``1`` with ``1.0``.
    """
    try:
        value = json.loads(
            data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constants
        )
        if canonical_json(value) != data:
            return "entry bytes are not canonical JSON"
        if canonical_json(decoded) != data:
            return "entry bytes differ from the decoded entry served beside them"
    except (ValueError, TypeError, RecursionError) as exc:
        return f"entry bytes are not JSON: {exc}"
    return None


# --- HTTP ---------------------------------------------------------------------------


class Portal:
    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise Unavailable(f"--url must be an http(s) URL, not {url!r}")
        self.base = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.requests = 0

    def get(self, path: str, **params: int) -> bytes:
        url = self.base + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url)  # noqa: S310 (scheme checked in __init__)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(200).decode("utf-8", "replace").strip()
            exc.close()
            raise Unavailable(f"GET {url}: HTTP {exc.code} {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise Unavailable(f"GET {url}: {exc}") from exc

    def get_json(self, path: str, **params: int) -> dict[str, Any]:
        body = self.get(path, **params)
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise Failed(f"GET {path}: response is not JSON") from exc
        if not isinstance(value, dict):
            raise Failed(f"GET {path}: response is not a JSON object")
        return value


def field(obj: dict[str, Any], name: str, kind: type, where: str) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Failed(f"{where}: field {name!r} is missing or not {kind.__name__}")
    return value


def b64_hashes(values: Any, where: str) -> list[bytes]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise Failed(f"{where}: 'hashes' is not a list of base64 strings")
    hashes = [b64decode(v, f"{where} hash") for v in values]
    if any(len(h) != HASH_SIZE for h in hashes):
        raise Failed(f"{where}: a proof hash is not 32 bytes")
    return hashes


# --- the checks ---------------------------------------------------------------------


def fetch_log_key(portal: Portal, pinned: str | None, state: dict[str, Any] | None) -> VerifierKey:
    served_text = portal.get("/api/v1/ledger/public-key").decode("utf-8", "replace").strip()
    try:
        served = VerifierKey(served_text)
    except Unavailable as exc:
        raise Failed(f"the portal's public key is malformed: {exc}") from exc
    if pinned is not None:
        pinned_key = VerifierKey(pinned)
        if pinned_key.text != served.text:
            raise Failed(
                f"the portal serves log key {served.text}, not the pinned {pinned_key.text}"
            )
        say("ok", f"log key {served.text} (pinned, matches the portal's)")
    elif state is not None:
        if state["vkey"] != served.text:
            raise Failed(
                f"the portal's log key changed since the last verified run: it was "
                f"{state['vkey']}, now {served.text} (check out of band before trusting it)"
            )
        say("ok", f"log key {served.text} (same as in the state file)")
    else:
        say(
            "TOFU",
            f"trusting the log key the portal serves, on first use: {served.text} "
            "(pin it with --vkey, or keep --state, to detect a change)",
        )
    if served.sig_type != ED25519:
        raise Failed("the log key is not an Ed25519 (0x01) note key")
    return served


def check_checkpoint(
    data: bytes, log: VerifierKey, witnesses: list[VerifierKey]
) -> tuple[int, bytes]:
    """Verify the signed checkpoint note; return its (size, root hash)."""
    text, signatures = split_note(data)
    check_log_signature(text, signatures, log)
    # The text is trusted only now that the log's signature verified.
    origin, size, root, extensions = parse_checkpoint(text)
    # tlog-checkpoint: "The log's key name in its signature line SHOULD match
    # the origin line"; the portal promises it does.
    if origin != log.name:
        raise Failed(f"checkpoint origin {origin!r} is not the log key's name {log.name!r}")
    say("ok", f"checkpoint signed by the log: origin {origin}, size {size}, root {b64(root)}")
    for ext in extensions:
        say("info", f"checkpoint extension line: {ext}")
    for witness in witnesses:
        timestamp = check_cosignature(text, signatures, witness)
        when = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(timestamp))
        say("ok", f"cosigned by witness {witness.name} at {when}")
    return size, root


def fetch_entries(portal: Portal, size: int) -> list[bytes]:
    """Leaf hashes of entries [0, size), each entry checked on the way."""
    leaves: list[bytes] = []
    while len(leaves) < size:
        start = len(leaves)
        end = min(start + PAGE, size)
        page = portal.get_json("/api/v1/ledger/entries/", start=start, end=end)
        tree_size = field(page, "tree_size", int, f"entries {start}..{end}")
        if tree_size < size:
            raise Failed(
                f"entries: the portal's tree size {tree_size} is below the checkpoint's {size}"
            )
        items = page.get("entries")
        if not isinstance(items, list) or not items:
            raise Failed(f"entries: no entries returned from index {start}")
        for item in items[: end - start]:
            index = len(leaves)
            where = f"entry {index}"
            if not isinstance(item, dict):
                raise Failed(f"{where}: not a JSON object")
            if field(item, "index", int, where) != index:
                raise Failed(f"{where}: served with index {item['index']}")
            data = b64decode(field(item, "data", str, where), f"{where} data")
            problem = check_canonical(data, item.get("entry"))
            if problem:
                raise Failed(f"{where}: {problem}")
            computed = leaf_hash(data)
            if field(item, "leaf_hash", str, where) != computed.hex():
                raise Failed(
                    f"{where}: leaf hash {item['leaf_hash']} served, but its bytes hash to "
                    f"{computed.hex()}"
                )
            leaves.append(computed)
    return leaves


def first_bad_entry(portal: Portal, leaves: list[bytes], root: bytes) -> int | None:
    """When the recomputed root is wrong: the first entry that differs from the log's.

    Bisects with consistency proofs from prefixes of our entries to the
    signed checkpoint: a prefix whose root is consistent with it is intact.
    O(log n) proofs. Only for the message; the verdict is already "failed".
    """
    good, bad = 0, len(leaves)  # the empty prefix is intact, the whole is not
    try:
        while bad - good > 1:
            mid = (good + bad) // 2
            proof = portal.get_json(
                "/api/v1/ledger/proofs/consistency/", first=mid, second=len(leaves)
            )
            hashes = b64_hashes(proof.get("hashes"), "consistency proof")
            if (
                verify_consistency(mid, len(leaves), hashes, merkle_root(leaves[:mid]), root)
                is None
            ):
                good = mid
            else:
                bad = mid
    except (Failed, Unavailable):
        return None
    return bad - 1


def check_inclusion_sample(
    portal: Portal, leaves: list[bytes], root: bytes, sample: int, rng: random.Random
) -> int:
    size = len(leaves)
    if size == 0 or sample <= 0:
        return 0
    chosen = {0, size - 1}
    others = range(1, size - 1)
    chosen.update(rng.sample(others, min(max(sample - 2, 0), len(others))))
    for index in sorted(chosen):
        where = f"inclusion proof for entry {index} at size {size}"
        proof = portal.get_json("/api/v1/ledger/proofs/inclusion/", index=index, tree_size=size)
        if (
            field(proof, "index", int, where) != index
            or field(proof, "tree_size", int, where) != size
        ):
            raise Failed(f"{where}: the portal answered for another index or size")
        served_leaf = b64decode(field(proof, "leaf_hash", str, where), f"{where} leaf hash")
        if served_leaf != leaves[index]:
            raise Failed(f"{where}: leaf hash differs from the entry's")
        served_root = b64decode(field(proof, "root_hash", str, where), f"{where} root hash")
        if served_root != root:
            raise Failed(f"{where}: root hash differs from the checkpoint's")
        problem = verify_inclusion(
            leaves[index], index, size, b64_hashes(proof.get("hashes"), where), root
        )
        if problem:
            raise Failed(f"{where}: {problem}")
    return len(chosen)


def check_consistency(
    portal: Portal, previous: dict[str, Any], size: int, root: bytes, leaves: list[bytes]
) -> None:
    old_size, old_root = previous["size"], previous["root"]
    label = f"from size {old_size} (verified {previous.get('verified_at', '?')}) to size {size}"
    if old_size > size:
        raise Failed(f"ROLLBACK: the log has {size} entries, but {old_size} were verified before")
    if old_size == size:
        if old_root != root:
            raise Failed(
                f"FORK: size {size} was verified before with root {b64(old_root)}, now {b64(root)}"
            )
        say("ok", f"consistent with the previous run: same size {size}, same root")
        return
    where = f"consistency proof {label}"
    if old_size > 0:
        proof = portal.get_json("/api/v1/ledger/proofs/consistency/", first=old_size, second=size)
        if (
            field(proof, "first", int, where) != old_size
            or field(proof, "second", int, where) != size
        ):
            raise Failed(f"{where}: the portal answered for other sizes")
        problem = verify_consistency(
            old_size, size, b64_hashes(proof.get("hashes"), where), old_root, root
        )
        if problem:
            raise Failed(f"FORK: {where} does not verify: {problem}")
    # Belt and braces: the entries downloaded now must rebuild the old root.
    if merkle_root(leaves[:old_size]) != old_root:
        raise Failed(
            f"FORK: the first {old_size} entries no longer hash to the root verified before"
        )
    say("ok", f"consistent with the previous run {label}")


# --- state --------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def load_state(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise Unavailable(f"cannot read the state file {path}: {exc}") from exc
    try:
        state = {
            "vkey": str(raw["vkey"]),
            "size": int(raw["size"]),
            "root": base64.b64decode(raw["root_hash"], validate=True),
            "verified_at": raw.get("verified_at"),
        }
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise Unavailable(f"the state file {path} is not one this program wrote") from exc
    if len(state["root"]) != HASH_SIZE or state["size"] < 0:
        raise Unavailable(f"the state file {path} is not one this program wrote")
    return state


def save_state(path: str, vkey: str, size: int, root: bytes, checkpoint: bytes) -> None:
    record = {
        "version": STATE_VERSION,
        "vkey": vkey,
        "size": size,
        "root_hash": b64(root),
        "checkpoint": checkpoint.decode("utf-8"),
        "verified_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    directory = os.path.dirname(os.path.abspath(path))
    # Atomic: a crash leaves the old state or the new one, never half a file.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".bizi_verify.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms that cannot open a directory
        return
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


# --- openings of salted commitments ------------------------------------------------
#
# Version 2 entries hold free text, filters and the acting person only as
# commitments: "commitments": {FIELD: hex(SHA-256(salt || UTF-8 value))}, with a
# fresh 32-byte salt per field. The two parties of a request see the value and
# the salt; with them anyone can check the entry committed to exactly that value.


def commitment_hex(salt: bytes, value: str) -> str:
    return sha256(salt + value.encode("utf-8")).hex()


def check_opening(data: bytes, name: str, value: str, salt_hex: str, where: str) -> str:
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        salt = b""
    if len(salt) != HASH_SIZE:
        raise Unavailable(f"the salt must be {HASH_SIZE} bytes in hex ({2 * HASH_SIZE} digits)")
    try:
        decoded = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except ValueError as exc:
        raise Failed(f"{where} is not JSON: {exc}") from exc
    problem = check_canonical(data, decoded)
    if problem:
        raise Failed(f"{where}: {problem}")
    held = decoded.get("commitments") if isinstance(decoded, dict) else None
    if not isinstance(held, dict) or name not in held:
        names = ", ".join(sorted(held)) if isinstance(held, dict) and held else "none"
        raise Failed(f"{where} has no commitment named {name!r} (it has: {names})")
    computed = commitment_hex(salt, value)
    if held[name] != computed:
        raise Failed(
            f"{where} commits to another {name}: it holds {held[name]}, the value and salt "
            f"given hash to {computed}"
        )
    return f"OK: {where} commits to exactly this {name} (commitment {computed})"


def read_entry_file(path: str) -> bytes:
    """An entry's exact bytes: the JSON itself, or its base64 as the API and pages show it."""
    try:
        with open(path, "rb") as f:
            raw = f.read().strip()
    except OSError as exc:
        raise Unavailable(f"cannot read {path}: {exc}") from exc
    if raw.startswith(b"{"):
        return raw
    return b64decode(raw.decode("ascii", "replace"), f"{path} (base64)")


def fetch_proved_entry(portal: Portal, args: argparse.Namespace, index: int) -> bytes:
    """Entry `index`, its bytes proved included under the log's signed checkpoint."""
    log = fetch_log_key(portal, args.vkey or _pinned_from_file(args.vkey_file), None)
    size, root = check_checkpoint(
        portal.get("/api/v1/ledger/checkpoint"), log, [VerifierKey(v) for v in args.witness_vkey]
    )
    if not 0 <= index < size:
        raise Failed(f"entry {index} is not in the signed checkpoint of size {size}")
    where = f"entry {index}"
    page = portal.get_json("/api/v1/ledger/entries/", start=index, end=index + 1)
    items = page.get("entries")
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise Failed(f"{where}: not served")
    if field(items[0], "index", int, where) != index:
        raise Failed(f"{where}: served with index {items[0]['index']}")
    data = b64decode(field(items[0], "data", str, where), f"{where} data")
    proof = portal.get_json("/api/v1/ledger/proofs/inclusion/", index=index, tree_size=size)
    hashes = b64_hashes(proof.get("hashes"), f"inclusion proof for {where}")
    problem = verify_inclusion(leaf_hash(data), index, size, hashes, root)
    if problem:
        raise Failed(f"inclusion proof for {where} at size {size}: {problem}")
    say("ok", f"{where} is included in the signed checkpoint of size {size}")
    return data


def _pinned_from_file(path: str | None) -> str | None:
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return next((line.strip() for line in f if line.strip()), "")
    except OSError as exc:
        raise Unavailable(f"cannot read {path}: {exc}") from exc


def open_commitment(args: argparse.Namespace) -> str:
    name, value, salt_hex = args.open
    if args.entry_file:
        data = read_entry_file(args.entry_file)
        say("info", f"offline: the entry's bytes come from {args.entry_file}, not from the log")
        where = "the entry"
    else:
        data = fetch_proved_entry(Portal(args.url, args.token, args.timeout), args, args.index)
        where = f"entry {args.index}"
    return check_opening(data, name, value, salt_hex, where)


# --- main ---------------------------------------------------------------------------


def verify(args: argparse.Namespace) -> str:
    """Run every check; return the OK line or raise Failed / Unavailable."""
    portal = Portal(args.url, args.token, args.timeout)
    pinned = args.vkey or _pinned_from_file(args.vkey_file)
    witnesses = [VerifierKey(v) for v in args.witness_vkey]
    state = load_state(args.state) if args.state else None

    log = fetch_log_key(portal, pinned, state)
    checkpoint = portal.get("/api/v1/ledger/checkpoint")
    size, root = check_checkpoint(checkpoint, log, witnesses)

    leaves = fetch_entries(portal, size)
    say("ok", f"{size} entries are canonical JSON and hash to their leaf hashes")
    computed = merkle_root(leaves)
    if computed != root:
        bad = first_bad_entry(portal, leaves, root)
        mismatch = (
            f"root over entries 0..{size - 1} is {b64(computed)}, the checkpoint says {b64(root)}"
        )
        if bad is None:
            raise Failed(mismatch)
        raise Failed(
            f"entry {bad} is not the one the log signed (the first entry that differs, "
            f"found with consistency proofs): {mismatch}"
        )
    say("ok", f"root recomputed from the entries equals the checkpoint root at size {size}")

    checked = check_inclusion_sample(portal, leaves, root, args.sample, random.SystemRandom())
    if checked:
        say(
            "ok", f"inclusion proofs verify for {checked} sampled entries (first and last included)"
        )

    if args.state:
        if state is not None:
            check_consistency(portal, state, size, root, leaves)
        else:
            say("info", f"no previous state in {args.state}: nothing to be consistent with yet")
        save_state(args.state, log.text, size, root, checkpoint)
        say("ok", f"saved the verified checkpoint to {args.state}")
    return f"OK: verified {size} entries up to tree size {size}, root {b64(root)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify the BIZi portal's ledger: signatures, entries, root, proofs.",
        epilog="Exit status: 0 verified, 1 verification failed, 2 usage or network error.",
    )
    parser.add_argument("--url", help="The portal, e.g. https://bizi.example")
    parser.add_argument("--token", help="API token, sent as 'Authorization: Bearer TOKEN'.")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--vkey", help="The log's verifier key, pinned (name+keyid+base64).")
    keys.add_argument("--vkey-file", help="A file whose first line is the log's verifier key.")
    parser.add_argument("--state", help="JSON file remembering the last verified checkpoint.")
    parser.add_argument(
        "--witness-vkey",
        action="append",
        default=[],
        metavar="VKEY",
        help="A witness whose cosignature the checkpoint must carry. Repeatable.",
    )
    parser.add_argument(
        "--sample", type=int, default=16, help="Inclusion proofs to check (default 16)."
    )
    parser.add_argument("--timeout", type=float, default=30, help="Seconds per HTTP request.")
    opening = parser.add_argument_group(
        "checking an opening",
        "Instead of verifying the whole log, check that an entry commits to a value: FIELD "
        "as the entry names it (user, purpose, reason, filter, terms…), VALUE exactly, SALT in "
        "hex, all three as the request or listing page shows them.",
    )
    opening.add_argument("--open", nargs=3, metavar=("FIELD", "VALUE", "SALT"))
    where = opening.add_mutually_exclusive_group()
    where.add_argument(
        "--index", type=int, help="The entry, fetched from --url and proved in the checkpoint."
    )
    where.add_argument(
        "--entry-file",
        help="The entry's exact bytes (JSON, or base64 as served), checked offline.",
    )
    args = parser.parse_args(argv)
    if args.sample < 0:
        parser.error("--sample must be >= 0")
    if args.open and args.index is None and not args.entry_file:
        parser.error("--open needs --index (with --url) or --entry-file")
    if (args.index is not None or args.entry_file) and not args.open:
        parser.error("--index and --entry-file go with --open")
    if not args.url and not args.entry_file:
        parser.error("--url is required (except with --open … --entry-file)")
    try:
        line = open_commitment(args) if args.open else verify(args)
    except Failed as exc:
        print(f"FAILED: {exc}", flush=True)
        return 1
    except Unavailable as exc:
        print(f"ERROR: {exc}", file=sys.stderr, flush=True)
        return 2
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

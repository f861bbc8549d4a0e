"""Recompute the whole ledger from its entries and name the first thing that does not match.

Checks, in one pass over the entries in index order:
- every index from 0 is present once, and its bytes are canonical JSON;
- its stored leaf hash is SHA-256(0x00 || bytes), and so is the stored level-0 node;
- every stored perfect-subtree hash equals the one recomputed from the leaves;
- every block: its height follows the previous one, `prev_hash` is the previous block's hash,
  its hash is SHA-256 of its header, its root is the recomputed root at its tree size, and its
  checkpoint says exactly that (origin, size, root, block line) under the log's signature;
- every cosignature verifies under its witness's key.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from ledger import merkle
from ledger.canonical import CanonicalJSONError, parse_canonical_json
from ledger.keys import log_verifier
from ledger.models import Block, Cosignature, Entry, TreeNode, VerificationRun
from ledger.notes import (
    NoteError,
    NoteSignature,
    open_checkpoint,
    parse_note,
    parse_verifier_key,
    verify_note,
)
from ledger.services import GENESIS_HASH, block_header

CHUNK = 5000


@dataclass
class VerifyResult:
    ok: bool
    entries_checked: int
    blocks_checked: int
    first_problem: str
    seconds: float


class _Mismatch(Exception):
    pass


def _entries(chunk: int) -> Iterator[list[tuple[int, bytes, bytes]]]:
    last = -1
    while True:
        rows = list(
            Entry.objects.filter(index__gt=last)
            .order_by("index")
            .values_list("index", "data", "leaf_hash")[:chunk]
        )
        if not rows:
            return
        yield [(i, bytes(d), bytes(h)) for i, d, h in rows]
        last = rows[-1][0]


def _check_nodes(new_nodes: tuple[merkle.StoredNode, ...]) -> None:
    keys = {TreeNode.key_of(n.level, n.index): n for n in new_nodes}
    stored = dict(TreeNode.objects.filter(key__in=list(keys)).values_list("key", "hash"))
    for key, node in keys.items():
        if key not in stored:
            raise _Mismatch(f"tree node (level {node.level}, index {node.index}) is missing")
        if bytes(stored[key]) != node.hash:
            what = f"entry {node.index}" if node.level == 0 else "tree node"
            raise _Mismatch(
                f"{what}: stored hash of (level {node.level}, index {node.index}) does not match "
                "the hash recomputed from the entries"
            )


def _check_block(block: Block, previous: Block | None, root: bytes) -> None:
    name = f"block {block.height}"
    expected_height = previous.height + 1 if previous else 0
    if block.height != expected_height:
        raise _Mismatch(f"{name}: expected height {expected_height}")
    prev_hash = bytes(previous.block_hash) if previous else GENESIS_HASH
    if bytes(block.prev_hash) != prev_hash:
        raise _Mismatch(f"{name}: prev_hash is not the hash of block {expected_height - 1}")
    header = block_header(
        height=block.height,
        prev_hash=bytes(block.prev_hash),
        tree_size=block.tree_size,
        root_hash=bytes(block.root_hash),
        sealed_at=block.sealed_at,
    )
    if hashlib.sha256(header).digest() != bytes(block.block_hash):
        raise _Mismatch(f"{name}: its hash does not match its header")
    if bytes(block.root_hash) != root:
        raise _Mismatch(
            f"{name}: root hash differs from the root recomputed at size {block.tree_size}"
        )
    try:
        checkpoint, _ = open_checkpoint(block.checkpoint.encode(), [log_verifier()])
    except NoteError as exc:
        raise _Mismatch(f"{name}: checkpoint signature does not verify ({exc})") from exc
    line = f"bizi-block {block.height} {base64.b64encode(bytes(block.block_hash)).decode()}"
    if (
        checkpoint.origin != settings.LEDGER_ORIGIN
        or checkpoint.size != block.tree_size
        or checkpoint.root_hash != root
        or line not in checkpoint.extensions
    ):
        raise _Mismatch(f"{name}: checkpoint does not describe this block")
    for cosignature in Cosignature.objects.filter(block=block).select_related("witness"):
        verifier = parse_verifier_key(cosignature.witness.vkey).for_cosignatures()
        note = parse_note(block.checkpoint.encode())
        try:
            signed = note.with_signatures([NoteSignature.parse_line(cosignature.signature_line)])
            verify_note(signed, [verifier])
        except NoteError as exc:
            raise _Mismatch(
                f"{name}: cosignature of {cosignature.witness} does not verify"
            ) from exc


def verify_ledger(*, record: bool = True, triggered_by: str = "command") -> VerifyResult:
    started = timezone.now()
    clock = time.monotonic()
    size, frontier, root = 0, tuple[bytes, ...](), merkle.EMPTY_ROOT
    blocks = iter(Block.objects.order_by("height"))
    block = next(blocks, None)
    previous: Block | None = None
    blocks_checked = 0
    problem = ""
    try:
        for rows in _entries(CHUNK):
            start = 0
            while start < len(rows):
                # Stop each segment at the next block's size, so its root can be compared.
                stop = len(rows)
                if block is not None and size < block.tree_size <= size + len(rows) - start:
                    stop = start + block.tree_size - size
                segment = rows[start:stop]
                leaves: list[bytes] = []
                for index, data, stored_leaf in segment:
                    if index != size + len(leaves):
                        raise _Mismatch(f"entry {size + len(leaves)} is missing")
                    try:
                        parse_canonical_json(data)
                    except CanonicalJSONError as exc:
                        raise _Mismatch(
                            f"entry {index}: bytes are not canonical JSON ({exc})"
                        ) from exc
                    leaf = merkle.leaf_hash(data)
                    if leaf != stored_leaf:
                        raise _Mismatch(f"entry {index}: stored leaf hash does not match its bytes")
                    leaves.append(leaf)
                appended = merkle.append_leaves(size, frontier, leaves)
                _check_nodes(appended.new_nodes)
                size, frontier, root = appended.tree_size, appended.frontier, appended.root
                while block is not None and block.tree_size == size:
                    _check_block(block, previous, root)
                    blocks_checked += 1
                    previous, block = block, next(blocks, None)
                start = stop
        if block is not None:
            raise _Mismatch(
                f"block {block.height}: claims size {block.tree_size} but the log has {size}"
            )
    except _Mismatch as exc:
        problem = str(exc)
    result = VerifyResult(
        ok=not problem,
        entries_checked=size,
        blocks_checked=blocks_checked,
        first_problem=problem,
        seconds=time.monotonic() - clock,
    )
    if record:
        VerificationRun.objects.create(
            started_at=started,
            finished_at=timezone.now(),
            ok=result.ok,
            entries_checked=result.entries_checked,
            blocks_checked=result.blocks_checked,
            first_problem=problem,
            triggered_by=triggered_by,
        )
    return result

"""RFC 9162 §2.1 Merkle tree hashing, proofs, and a perfect-subtree store layout.

Reference: https://www.rfc-editor.org/rfc/rfc9162#section-2.1 (the same tree as
RFC 6962 §2.1). Hashes are SHA-256, 32 bytes.

Store layout
------------
Proof generation here never needs the leaves, only hashes of *perfect*
subtrees: ``Node(level, index)`` covers leaves ``[index * 2**level,
(index + 1) * 2**level)``. Such a node is complete (its hash never changes) as
soon as its last leaf is appended, so a store that writes each one once, when
it completes, is append-only. :func:`append_leaves` says which nodes to write
(at most ``2 * n`` for ``n`` leaves, level 0 being the leaf hashes
themselves); :func:`inclusion_plan` and :func:`consistency_plan` say which
ones a proof needs (``O(log n)`` of them). A tree of size ``n`` that is not a
power of two is not itself a perfect subtree; every hash the RFC needs for such
a subtree is the right-to-left fold (:func:`fold`) of the perfect subtrees that
tile it (:func:`subtree_nodes`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "AppendResult",
    "ConsistencyProofError",
    "GetNode",
    "InclusionProofError",
    "Node",
    "ProofError",
    "ProofPlan",
    "StoredNode",
    "append_leaves",
    "build_proof",
    "consistency_plan",
    "consistency_proof",
    "fold",
    "frontier_nodes",
    "inclusion_plan",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "plan_nodes",
    "root_from_store",
    "root_hash",
    "subtree_nodes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32

# SPEC: RFC 9162 §2.1.1 "The hash of an empty list is the hash of an empty
# string: MTH({}) = HASH()."
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """Return the leaf hash of one entry's bytes.

    SPEC: RFC 9162 §2.1.1 "The hash of a list with one entry (also known as a
    leaf hash) is: MTH({d(0)}) = HASH(0x00 || d(0))."
    """
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the hash of an interior node from its children's hashes.

    SPEC: RFC 9162 §2.1.1 "MTH(D_n) = HASH(0x01 || MTH(D[0:k]) || MTH(D[k:n]))".
    """
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    # SPEC: RFC 9162 §2.1.1 "For n > 1, let k be the largest power of two
    # smaller than n (i.e., k < n <= 2k)."
    return 1 << ((n - 1).bit_length() - 1)


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_SIZE:
        raise ValueError(f"{what} must be {HASH_SIZE} bytes")


def root_hash(leaf_hashes: Iterable[bytes]) -> bytes:
    """Return MTH over the given leaf hashes (``EMPTY_ROOT`` for none).

    Streams: memory is ``O(log n)``, so it can run over every leaf of a large
    log (``ledger_verify``). Raises ``ValueError`` if a hash is not 32 bytes.
    """
    # A binary counter of perfect subtrees: (level, hash), levels strictly
    # decreasing. Folding it gives the RFC root (see subtree_nodes).
    stack: list[tuple[int, bytes]] = []
    for h in leaf_hashes:
        _check_hash(h, "leaf hash")
        level = 0
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level += 1
        stack.append((level, h))
    if not stack:
        return EMPTY_ROOT
    return fold([h for _, h in stack])


# --- perfect subtrees -------------------------------------------------------


class Node(NamedTuple):
    """A perfect subtree: leaves ``[index << level, (index + 1) << level)``."""

    level: int
    index: int  # type: ignore[assignment]  # shadows tuple.index(), which nothing here calls

    @property
    def begin(self) -> int:
        return self.index << self.level

    @property
    def end(self) -> int:
        return (self.index + 1) << self.level


GetNode = Callable[[int, int], bytes]
"""``get_node(level, index) -> hash`` of a complete perfect subtree."""

ProofPlan = tuple[tuple[Node, ...], ...]
"""Proof element ``i`` is ``fold([hash(n) for n in plan[i]])``."""


def subtree_nodes(begin: int, end: int) -> tuple[Node, ...]:
    """Tile the RFC subtree ``[begin, end)`` with perfect subtrees, left to right.

    Every subtree the RFC 9162 recursion visits starts at a multiple of the
    smallest power of two ``>= end - begin``; for such a range the tiles follow
    the binary digits of its size, largest first, and ``fold`` of their hashes
    is ``MTH(D[begin:end])``, because MTH splits off the largest power of two
    first and recurses on the right. Raises ``ValueError`` for an empty or
    misaligned range (which no RFC subtree is).
    """
    size = end - begin
    if begin < 0 or size <= 0:
        raise ValueError(f"empty or negative range [{begin}, {end})")
    if begin % (1 << (size - 1).bit_length()) != 0:
        raise ValueError(f"[{begin}, {end}) is not a subtree of an RFC 9162 tree")
    nodes = []
    pos = begin
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            nodes.append(Node(level, pos >> level))
            pos += 1 << level
    return tuple(nodes)


def frontier_nodes(tree_size: int) -> tuple[Node, ...]:
    """The perfect subtrees tiling ``[0, tree_size)``, largest first.

    Their hashes are the appender's whole state (see :func:`append_leaves`),
    and ``fold`` of them is the root at ``tree_size``. Empty for size 0.
    """
    if tree_size < 0:
        raise ValueError("tree_size must be >= 0")
    return subtree_nodes(0, tree_size) if tree_size else ()


def fold(hashes: Sequence[bytes]) -> bytes:
    """Combine perfect-subtree hashes (left to right) into the RFC subtree hash.

    ``fold([a, b, c]) == node_hash(a, node_hash(b, c))``: the right-edge shape
    of an RFC 9162 tree whose size is not a power of two.
    """
    if not hashes:
        raise ValueError("nothing to fold")
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


# --- proof generation ---------------------------------------------------------


def _plan(ranges: list[tuple[int, int]]) -> ProofPlan:
    return tuple(subtree_nodes(b, e) for b, e in ranges)


def inclusion_plan(index: int, tree_size: int) -> ProofPlan:
    """Which perfect subtrees make up PATH(index, D[tree_size]).

    SPEC: RFC 9162 §2.1.3.1 "PATH(m, D_n) = PATH(m, D[0:k]) : MTH(D[k:n]) for
    m < k; and PATH(m, D_n) = PATH(m - k, D[k:n]) : MTH(D[0:k]) for m >= k".

    At most one element (the first right sibling met walking down from the
    root) is not itself perfect, so the plan names at most ``2 * log2(n)``
    nodes. Raises ``ValueError`` unless ``0 <= index < tree_size``.
    """
    if not 0 <= index < tree_size:
        raise ValueError(f"index {index} is outside a tree of size {tree_size}")
    # Walk from the root down to the leaf, noting each sibling; the proof lists
    # them leaf first, so reverse at the end.
    begin, end = 0, tree_size
    siblings: list[tuple[int, int]] = []
    # SPEC: RFC 9162 §2.1.3.1 "PATH(0, {d(0)}) = {}"
    while end - begin > 1:
        mid = begin + _split(end - begin)
        if index < mid:
            siblings.append((mid, end))
            end = mid
        else:
            siblings.append((begin, mid))
            begin = mid
    siblings.reverse()
    return _plan(siblings)


def consistency_plan(first: int, second: int) -> ProofPlan:
    """Which perfect subtrees make up PROOF(first, D[second]).

    SPEC: RFC 9162 §2.1.4.1 "PROOF(m, D_n) = SUBPROOF(m, D_n, true)", with
    "SUBPROOF(m, D[m], true) = {}", "SUBPROOF(m, D[m], false) = {MTH(D[m])}",
    "If m <= k ... SUBPROOF(m, D_n, b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])"
    and "If m > k ... SUBPROOF(m, D_n, b) = SUBPROOF(m - k, D[k:n], false) :
    MTH(D[0:k])".

    The RFC defines the proof for ``0 < first < second``; for ``first == 0``
    or ``first == second`` the proof is empty (nothing to prove, as
    tlog-witness requires for an old size of zero). As for inclusion, at most
    one element is not perfect. Raises ``ValueError`` unless
    ``0 <= first <= second``.
    """
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to {second}")
    if first == 0 or first == second:
        return ()
    begin, end, m = 0, second, first
    known = True  # "whether the subtree Merkle Tree Hash MTH(D[0:m]) is known"
    parts: list[tuple[int, int]] = []
    while m != end - begin:
        k = _split(end - begin)
        if m <= k:
            parts.append((begin + k, end))
            end = begin + k
        else:
            parts.append((begin, begin + k))
            begin += k
            m -= k
            known = False
    if not known:
        parts.append((begin, end))
    parts.reverse()
    return _plan(parts)


def plan_nodes(plan: ProofPlan) -> list[Node]:
    """The distinct nodes a plan needs, in first-use order (for one batched read)."""
    seen: dict[Node, None] = {}
    for element in plan:
        for node in element:
            seen.setdefault(node, None)
    return list(seen)


def build_proof(plan: ProofPlan, get_node: GetNode) -> list[bytes]:
    """Assemble a proof by reading each planned node once via ``get_node``.

    ``get_node`` must return the 32-byte hash of a *complete* perfect subtree;
    whatever it raises for a missing node propagates.
    """
    cache: dict[Node, bytes] = {}
    for node in plan_nodes(plan):
        h = get_node(node.level, node.index)
        _check_hash(h, f"hash of {node}")
        cache[node] = h
    return [fold([cache[n] for n in element]) for element in plan]


def inclusion_proof(index: int, tree_size: int, get_node: GetNode) -> list[bytes]:
    """Inclusion proof for leaf ``index`` in the tree of size ``tree_size``."""
    return build_proof(inclusion_plan(index, tree_size), get_node)


def consistency_proof(first: int, second: int, get_node: GetNode) -> list[bytes]:
    """Consistency proof from the tree of size ``first`` to size ``second``."""
    return build_proof(consistency_plan(first, second), get_node)


def root_from_store(tree_size: int, get_node: GetNode) -> bytes:
    """Root hash at ``tree_size`` from at most ``log2(n) + 1`` node reads."""
    nodes = frontier_nodes(tree_size)
    if not nodes:
        return EMPTY_ROOT
    return fold([get_node(n.level, n.index) for n in nodes])


# --- appending ------------------------------------------------------------------


class StoredNode(NamedTuple):
    """A perfect-subtree hash to persist: ``(level, index, hash)``."""

    level: int
    index: int  # type: ignore[assignment]  # shadows tuple.index(), which nothing here calls
    hash: bytes


@dataclass(frozen=True)
class AppendResult:
    """What appending produced.

    ``new_nodes``: every perfect subtree completed by the new leaves, level 0
    (the leaf hashes) included, in completion order; persist them all.
    ``frontier``: hashes of ``frontier_nodes(tree_size)``, the input to the
    next append. ``root``: the root at ``tree_size``.
    """

    tree_size: int
    root: bytes
    new_nodes: tuple[StoredNode, ...]
    frontier: tuple[bytes, ...]


def append_leaves(
    tree_size: int, frontier: Sequence[bytes], new_leaf_hashes: Sequence[bytes]
) -> AppendResult:
    """Append leaf hashes to a tree known only by its size and frontier.

    ``frontier`` holds the hashes of ``frontier_nodes(tree_size)`` (read them
    from the store, or keep the previous result's). Appending ``n`` leaves
    completes at most ``2 * n`` nodes in total over the life of the log, each
    exactly once. Raises ``ValueError`` if the frontier does not match the
    size or a hash is not 32 bytes.
    """
    expected = frontier_nodes(tree_size)
    if len(frontier) != len(expected):
        raise ValueError(
            f"a tree of size {tree_size} has {len(expected)} frontier hashes, got {len(frontier)}"
        )
    stack: list[tuple[int, bytes]] = []
    for node, h in zip(expected, frontier, strict=True):
        _check_hash(h, f"frontier hash of {node}")
        stack.append((node.level, h))

    new_nodes: list[StoredNode] = []
    size = tree_size
    for h in new_leaf_hashes:
        _check_hash(h, f"leaf hash {size}")
        level, index = 0, size
        new_nodes.append(StoredNode(0, index, h))
        # A left sibling of equal level is on the stack exactly when this
        # subtree is a right child: merge and climb, like a binary carry.
        while stack and stack[-1][0] == level:
            h = node_hash(stack.pop()[1], h)
            level += 1
            index >>= 1
            new_nodes.append(StoredNode(level, index, h))
        stack.append((level, h))
        size += 1

    hashes = tuple(h for _, h in stack)
    return AppendResult(
        tree_size=size,
        root=fold(hashes) if hashes else EMPTY_ROOT,
        new_nodes=tuple(new_nodes),
        frontier=hashes,
    )


# --- verification ----------------------------------------------------------------


def _hex(value: bytes | None) -> str:
    return value.hex() if value is not None else "-"


class ProofError(ValueError):
    """A Merkle proof did not verify. Subclasses carry the evidence."""


class InclusionProofError(ProofError):
    """An inclusion proof failed; names the leaf, sizes and both roots."""

    def __init__(
        self,
        reason: str,
        *,
        index: int,
        tree_size: int,
        leaf_hash: bytes,
        expected_root: bytes,
        computed_root: bytes | None = None,
    ) -> None:
        self.reason = reason
        self.index = index
        self.tree_size = tree_size
        self.leaf_hash = leaf_hash
        self.expected_root = expected_root
        self.computed_root = computed_root
        super().__init__(
            f"inclusion proof for leaf {index} in tree of size {tree_size} "
            f"failed: {reason} (expected root {_hex(expected_root)}, "
            f"computed {_hex(computed_root)})"
        )


class ConsistencyProofError(ProofError):
    """A consistency proof failed; names both sizes and all four roots."""

    def __init__(
        self,
        reason: str,
        *,
        first: int,
        second: int,
        first_root: bytes,
        second_root: bytes,
        computed_first_root: bytes | None = None,
        computed_second_root: bytes | None = None,
    ) -> None:
        self.reason = reason
        self.first = first
        self.second = second
        self.first_root = first_root
        self.second_root = second_root
        self.computed_first_root = computed_first_root
        self.computed_second_root = computed_second_root
        super().__init__(
            f"consistency proof from size {first} to {second} failed: {reason} "
            f"(first root {_hex(first_root)}, computed "
            f"{_hex(computed_first_root)}; second root {_hex(second_root)}, "
            f"computed {_hex(computed_second_root)})"
        )


def _well_formed(values: Sequence[bytes]) -> bool:
    return all(isinstance(v, (bytes, bytearray)) and len(v) == HASH_SIZE for v in values)


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree with ``root``.

    Follows RFC 9162 §2.1.3.2 step by step. Returns ``None`` on success and
    raises :class:`InclusionProofError` otherwise (including for hashes that
    are not 32 bytes).
    """

    def fail(reason: str, computed: bytes | None = None) -> InclusionProofError:
        return InclusionProofError(
            reason,
            index=index,
            tree_size=tree_size,
            leaf_hash=leaf_hash,
            expected_root=root,
            computed_root=computed,
        )

    if not _well_formed([leaf_hash, root, *proof]):
        raise fail(f"a hash is not {HASH_SIZE} bytes")
    # SPEC: RFC 9162 §2.1.3.2 step 1 "If leaf_index is greater than or equal
    # to tree_size, then fail the proof verification."
    if index < 0 or index >= tree_size:
        raise fail("leaf index is outside the tree")
    # SPEC: step 2 "Set fn to leaf_index and sn to tree_size - 1."
    fn, sn = index, tree_size - 1
    # SPEC: step 3 "Set r to hash."
    r = leaf_hash
    # SPEC: step 4 "For each value p in the inclusion_path array:"
    for p in proof:
        # SPEC: 4a "If sn is 0, then stop the iteration and fail the proof
        # verification."
        if sn == 0:
            raise fail("proof is longer than the path to the root", r)
        # SPEC: 4b "If LSB(fn) is set, or if fn is equal to sn, then:"
        if fn & 1 or fn == sn:
            # SPEC: 4b.i "Set r to HASH(0x01 || p || r)."
            r = node_hash(p, r)
            # SPEC: 4b.ii "If LSB(fn) is not set, then right-shift both fn and
            # sn equally until either LSB(fn) is set or fn is 0."
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            # SPEC: 4b "Otherwise: i. Set r to HASH(0x01 || r || p)."
            r = node_hash(r, p)
        # SPEC: 4c "Finally, right-shift both fn and sn one time."
        fn >>= 1
        sn >>= 1
    # SPEC: step 5 "If sn is equal to 0 and r and the root_hash are equal, then
    # the log has proven the inclusion of hash. Otherwise, fail the proof
    # verification."
    if sn != 0:
        raise fail("proof is shorter than the path to the root", r)
    if r != root:
        raise fail("computed root does not match", r)


def verify_consistency(
    first: int,
    second: int,
    proof: Sequence[bytes],
    first_root: bytes,
    second_root: bytes,
) -> None:
    """Check that the tree of size ``first`` is a prefix of the one of ``second``.

    ``0 < first < second`` follows RFC 9162 §2.1.4.2 step by step. Outside
    the RFC's range: ``first == second`` needs an empty proof and equal roots;
    ``first == 0`` needs an empty proof (the empty tree is a prefix of every
    tree, so ``first_root`` carries no information and is not checked);
    ``first > second`` always fails. Raises :class:`ConsistencyProofError`.
    """

    def fail(
        reason: str, fr: bytes | None = None, sr: bytes | None = None
    ) -> ConsistencyProofError:
        return ConsistencyProofError(
            reason,
            first=first,
            second=second,
            first_root=first_root,
            second_root=second_root,
            computed_first_root=fr,
            computed_second_root=sr,
        )

    if not _well_formed([first_root, second_root, *proof]):
        raise fail(f"a hash is not {HASH_SIZE} bytes")
    if first < 0 or first > second:
        raise fail("first size is larger than second size")
    if first == second:
        if proof:
            raise fail("proof between equal sizes must be empty")
        if first_root != second_root:
            raise fail("same size, different roots", first_root, second_root)
        return
    if first == 0:
        if proof:
            raise fail("proof from the empty tree must be empty")
        return

    # SPEC: RFC 9162 §2.1.4.2 step 1 "If consistency_path is an empty array,
    # stop and fail the proof verification."
    if not proof:
        raise fail("proof is empty")
    path = list(proof)
    # SPEC: step 2 "If first is an exact power of 2, then prepend first_hash to
    # the consistency_path array."
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    # SPEC: step 3 "Set fn to first - 1 and sn to second - 1."
    fn, sn = first - 1, second - 1
    # SPEC: step 4 "If LSB(fn) is set, then right-shift both fn and sn equally
    # until LSB(fn) is not set."
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # SPEC: step 5 "Set both fr and sr to the first value in the
    # consistency_path array."
    fr = sr = path[0]
    # SPEC: step 6 "For each subsequent value c in the consistency_path array:"
    for c in path[1:]:
        # SPEC: 6a "If sn is 0, then stop the iteration and fail the proof
        # verification."
        if sn == 0:
            raise fail("proof is longer than needed", fr, sr)
        # SPEC: 6b "If LSB(fn) is set, or if fn is equal to sn, then:"
        if fn & 1 or fn == sn:
            # SPEC: 6b.i "Set fr to HASH(0x01 || c || fr)."
            fr = node_hash(c, fr)
            # SPEC: 6b.ii "Set sr to HASH(0x01 || c || sr)."
            sr = node_hash(c, sr)
            # SPEC: 6b.iii "If LSB(fn) is not set, then right-shift both fn and
            # sn equally until either LSB(fn) is set or fn is 0."
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            # SPEC: 6b "Otherwise: i. Set sr to HASH(0x01 || sr || c)."
            sr = node_hash(sr, c)
        # SPEC: 6c "Finally, right-shift both fn and sn one time."
        fn >>= 1
        sn >>= 1
    # SPEC: step 7 "verify that the fr calculated is equal to the first_hash
    # supplied, that the sr calculated is equal to the second_hash supplied,
    # and that sn is 0."
    if sn != 0:
        raise fail("proof is shorter than needed", fr, sr)
    if fr != first_root:
        raise fail("computed first root does not match", fr, sr)
    if sr != second_root:
        raise fail("computed second root does not match", fr, sr)

"""RFC 9162 hashing, proofs and the perfect-subtree store.

Known-answer vectors come from transparency-dev/merkle (``testonly/constants.go``,
``proof/verify_test.go``, ``rfc6962/rfc6962_test.go``): the classic 8-leaf tree
of Certificate Transparency. The tampered-proof probes mirror that repository's
``corruptInclusionProof`` / ``corruptConsistencyProof``. Property tests compare
the store-backed generator with a literal transcription of the RFC's recursive
definitions (``ref_*`` below).
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.merkle import (
    EMPTY_ROOT,
    ConsistencyProofError,
    InclusionProofError,
    Node,
    ProofError,
)

# --- known answers (transparency-dev/merkle) ----------------------------------

LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]

# NODE_HASHES[level][index]: every complete subtree of the 8-leaf tree.
NODE_HASHES = [
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    [
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]

# ROOTS[n]: root of the tree of the first n leaves.
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# The compact range (frontier) after each size, as (level, index) into NODE_HASHES
# (transparency-dev/merkle testonly.CompactTrees).
FRONTIERS = [
    [],
    [(0, 0)],
    [(1, 0)],
    [(1, 0), (0, 2)],
    [(2, 0)],
    [(2, 0), (0, 4)],
    [(2, 0), (1, 2)],
    [(2, 0), (1, 2), (0, 6)],
    [(3, 0)],
]

# (leaf index, tree size, proof). The Go file numbers leaves from 1; these are
# 0-based indexes (Go's {1, 8} is index 0, {6, 8} index 5, ...).
INCLUSION_VECTORS = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

# (first size, second size, proof).
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def h(hex_string: str) -> bytes:
    return bytes.fromhex(hex_string)


# --- a store like the one the Django side keeps --------------------------------


class MemoryStore:
    """Perfect-subtree hashes keyed by (level, index), filled by append_leaves.

    ``get_node`` refuses nodes that are not complete at ``self.size``, and counts
    reads, so tests can check a proof touches only complete nodes and how many.
    """

    def __init__(self) -> None:
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0
        self.frontier: tuple[bytes, ...] = ()
        self.reads = 0

    def append(self, leaf_hashes: list[bytes]) -> merkle.AppendResult:
        result = merkle.append_leaves(self.size, self.frontier, leaf_hashes)
        for node in result.new_nodes:
            key = (node.level, node.index)
            assert key not in self.nodes, f"{key} written twice"
            assert (node.index + 1) << node.level <= result.tree_size, "incomplete node"
            self.nodes[key] = node.hash
        self.size, self.frontier = result.tree_size, result.frontier
        return result

    def reader(self, tree_size: int) -> merkle.GetNode:
        def get_node(level: int, index: int) -> bytes:
            assert (index + 1) << level <= tree_size, (
                f"node ({level}, {index}) is not part of the tree of size {tree_size}"
            )
            self.reads += 1
            return self.nodes[(level, index)]

        return get_node


def store_of(entries: list[bytes], chunks: list[int] | None = None) -> MemoryStore:
    store = MemoryStore()
    hashes = [merkle.leaf_hash(e) for e in entries]
    pos = 0
    for size in chunks or []:
        store.append(hashes[pos : pos + size])
        pos += size
    store.append(hashes[pos:])
    return store


# --- the RFC's definitions, transcribed literally (reference implementation) ---


def ref_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(entries: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH."""
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + entries[0]).digest()
    k = ref_split(n)
    return hashlib.sha256(b"\x01" + ref_mth(entries[:k]) + ref_mth(entries[k:])).digest()


def ref_path(m: int, entries: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH."""
    n = len(entries)
    if n == 1:
        return []
    k = ref_split(n)
    if m < k:
        return [*ref_path(m, entries[:k]), ref_mth(entries[k:])]
    return [*ref_path(m - k, entries[k:]), ref_mth(entries[:k])]


def ref_subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1 SUBPROOF."""
    n = len(entries)
    if m == n:
        return [] if b else [ref_mth(entries)]
    k = ref_split(n)
    if m <= k:
        return [*ref_subproof(m, entries[:k], b), ref_mth(entries[k:])]
    return [*ref_subproof(m - k, entries[k:], False), ref_mth(entries[:k])]


def ref_proof(m: int, entries: list[bytes]) -> list[bytes]:
    return ref_subproof(m, entries, True)


# --- hashing ---------------------------------------------------------------------


def test_hasher_known_answers() -> None:
    # rfc6962/rfc6962_test.go
    assert h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == EMPTY_ROOT
    assert merkle.leaf_hash(b"") == h(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert merkle.leaf_hash(b"L123456") == h(
        "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56"
    )
    assert merkle.node_hash(b"N123", b"N456") == h(
        "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb"
    )


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    left, right = merkle.leaf_hash(b"Hello"), merkle.leaf_hash(b"World")
    assert left != right
    assert merkle.node_hash(left, right) != merkle.leaf_hash(left + right)
    assert merkle.node_hash(left, right) != merkle.node_hash(right, left)


@pytest.mark.parametrize("size", range(9))
def test_root_hash_of_known_tree(size: int) -> None:
    leaf_hashes = [merkle.leaf_hash(e) for e in LEAVES[:size]]
    assert merkle.root_hash(leaf_hashes) == h(ROOTS[size])
    assert ref_mth(LEAVES[:size]) == h(ROOTS[size])


def test_store_holds_every_known_node_and_frontier() -> None:
    store = MemoryStore()
    for size, leaf in enumerate(LEAVES, start=1):
        result = store.append([merkle.leaf_hash(leaf)])
        assert result.root == h(ROOTS[size])
        assert result.frontier == tuple(h(NODE_HASHES[lv][ix]) for lv, ix in FRONTIERS[size])
        assert merkle.frontier_nodes(size) == tuple(Node(lv, ix) for lv, ix in FRONTIERS[size])
    expected = {
        (level, index): h(value)
        for level, row in enumerate(NODE_HASHES)
        for index, value in enumerate(row)
    }
    assert store.nodes == expected
    for size in range(9):
        assert merkle.root_from_store(size, store.reader(size)) == h(ROOTS[size])


def test_appending_in_one_batch_equals_one_by_one() -> None:
    whole = store_of(LEAVES)
    chunked = store_of(LEAVES, chunks=[3, 0, 1, 2])
    assert whole.nodes == chunked.nodes
    assert whole.frontier == chunked.frontier


# --- known proofs ----------------------------------------------------------------


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_known_answers(index: int, size: int, proof: list[str]) -> None:
    store = store_of(LEAVES)
    got = merkle.inclusion_proof(index, size, store.reader(size))
    assert got == [h(p) for p in proof]
    assert ref_path(index, LEAVES[:size]) == got
    merkle.verify_inclusion(merkle.leaf_hash(LEAVES[index]), index, size, got, h(ROOTS[size]))


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_consistency_known_answers(first: int, second: int, proof: list[str]) -> None:
    store = store_of(LEAVES)
    got = merkle.consistency_proof(first, second, store.reader(second))
    assert got == [h(p) for p in proof]
    if first < second:
        assert ref_proof(first, LEAVES[:second]) == got
    merkle.verify_consistency(first, second, got, h(ROOTS[first]), h(ROOTS[second]))


def inclusion_probes(
    index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes
) -> list[tuple[str, int, int, list[bytes], bytes, bytes]]:
    """Tampered variants of a valid inclusion proof; none may verify."""
    probes = [
        ("index - 1", index - 1, size, proof, root, leaf),
        ("index + 1", index + 1, size, proof, root, leaf),
        ("index ^ 2", index ^ 2, size, proof, root, leaf),
        ("size * 2", index, size * 2, proof, root, leaf),
        ("size // 2", index, size // 2, proof, root, leaf),
        ("wrong leaf", index, size, proof, root, merkle.leaf_hash(b"WrongLeaf")),
        ("empty root", index, size, proof, EMPTY_ROOT, leaf),
        ("random root", index, size, proof, SOME_HASH, leaf),
        ("trailing garbage", index, size, [*proof, b""], root, leaf),
        ("trailing root", index, size, [*proof, root], root, leaf),
        ("preceding garbage", index, size, [b"", *proof], root, leaf),
        ("preceding root", index, size, [root, *proof], root, leaf),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        probes.append((f"proof[{i}] bit 3 flipped", index, size, bad, root, leaf))
    if proof:
        probes.append(("removed component", index, size, proof[:-1], root, leaf))
    if len(proof) > 1:
        probes.append(
            ("inserted component", index, size, [proof[0], SOME_HASH, *proof[1:]], root, leaf)
        )
    return probes


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS[1:])
def test_tampered_inclusion_proofs_fail(index: int, size: int, proof: list[str]) -> None:
    good = [h(p) for p in proof]
    leaf, root = merkle.leaf_hash(LEAVES[index]), h(ROOTS[size])
    for desc, i, n, p, r, lf in inclusion_probes(index, size, good, root, leaf):
        with pytest.raises(InclusionProofError):
            merkle.verify_inclusion(lf, i, n, p, r)
        assert desc  # the description names the probe in a failure traceback


def consistency_probes(
    first: int, second: int, r1: bytes, r2: bytes, proof: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    """Tampered variants of a valid consistency proof; none may verify."""
    wrong = hashlib.sha256(b"WrongRoot").digest()
    probes = [
        ("first - 1", first - 1, second, r1, r2, proof),
        ("first + 1", first + 1, second, r1, r2, proof),
        ("first ^ 2", first ^ 2, second, r1, r2, proof),
        ("second * 2", first, second * 2, r1, r2, proof),
        ("second // 2", first, second // 2, r1, r2, proof),
        ("wrong first root", first, second, wrong, r2, proof),
        ("wrong second root", first, second, r1, wrong, proof),
        ("swapped roots", first, second, r2, r1, proof),
        ("empty proof", first, second, r1, r2, []),
        ("trailing garbage", first, second, r1, r2, [*proof, b""]),
        ("trailing first root", first, second, r1, r2, [*proof, r1]),
        ("trailing second root", first, second, r1, r2, [*proof, r2]),
        ("preceding garbage", first, second, r1, r2, [b"", *proof]),
        ("preceding first root", first, second, r1, r2, [r1, *proof]),
        ("preceding second root", first, second, r1, r2, [r2, *proof]),
        ("preceding proof[0]", first, second, r1, r2, [proof[0], *proof]),
        ("truncated", first, second, r1, r2, proof[:-1]),
    ]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((f"proof[{i}] bit 4 flipped", first, second, r1, r2, bad))
    return probes


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS[1:])
def test_tampered_consistency_proofs_fail(first: int, second: int, proof: list[str]) -> None:
    good = [h(p) for p in proof]
    r1, r2 = h(ROOTS[first]), h(ROOTS[second])
    for desc, m, n, a, b, p in consistency_probes(first, second, r1, r2, good):
        with pytest.raises(ConsistencyProofError):
            merkle.verify_consistency(m, n, p, a, b)
        assert desc


def test_inclusion_degenerate_inputs_fail() -> None:
    # proof/verify_test.go TestVerifyInclusion: empty proofs against bad sizes.
    for index, size in [(0, 0), (0, 1), (1, 0), (2, 1)]:
        for leaf, root in [(SOME_HASH, EMPTY_ROOT), (EMPTY_ROOT, SOME_HASH)]:
            with pytest.raises(InclusionProofError):
                merkle.verify_inclusion(leaf, index, size, [], root)
        with pytest.raises(InclusionProofError):
            merkle.verify_inclusion(SOME_HASH, index, size, [], b"")  # wrong hash size


def test_single_leaf_inclusion() -> None:
    leaf = merkle.leaf_hash(b"data")
    merkle.verify_inclusion(leaf, 0, 1, [], leaf)
    with pytest.raises(InclusionProofError):
        merkle.verify_inclusion(leaf, 0, 1, [], EMPTY_ROOT)


A, B = hashlib.sha256(b"don't care 1").digest(), hashlib.sha256(b"don't care 2").digest()


@pytest.mark.parametrize(
    ("first", "second", "root1", "root2", "proof", "ok"),
    [
        # proof/verify_test.go TestVerifyConsistency (roots made 32 bytes long).
        (0, 0, A, B, [], False),
        (1, 1, A, B, [], False),
        (0, 0, A, A, [], True),
        (0, 1, A, B, [], True),
        (1, 1, B, B, [], True),
        (1, 0, A, B, [], False),
        (2, 1, A, B, [], False),
        (1, 2, A, B, [], False),
        (0, 0, EMPTY_ROOT, B, [], False),
        (1, 1, EMPTY_ROOT, B, [], False),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    ],
)
def test_consistency_edge_cases(
    first: int, second: int, root1: bytes, root2: bytes, proof: list[bytes], ok: bool
) -> None:
    if ok:
        merkle.verify_consistency(first, second, proof, root1, root2)
    else:
        with pytest.raises(ConsistencyProofError):
            merkle.verify_consistency(first, second, proof, root1, root2)


def test_errors_carry_the_evidence() -> None:
    store = store_of(LEAVES)
    proof = merkle.inclusion_proof(5, 8, store.reader(8))
    with pytest.raises(InclusionProofError) as caught:
        merkle.verify_inclusion(merkle.leaf_hash(b"forged"), 5, 8, proof, h(ROOTS[8]))
    err = caught.value
    assert (err.index, err.tree_size, err.expected_root) == (5, 8, h(ROOTS[8]))
    assert err.computed_root is not None and err.computed_root != h(ROOTS[8])
    assert ROOTS[8] in str(err) and err.computed_root.hex() in str(err)

    proof = merkle.consistency_proof(6, 8, store.reader(8))
    with pytest.raises(ConsistencyProofError) as caught2:
        merkle.verify_consistency(6, 8, proof, h(ROOTS[6]), h(ROOTS[7]))
    err2 = caught2.value
    assert (err2.first, err2.second, err2.second_root) == (6, 8, h(ROOTS[7]))
    assert err2.computed_second_root == h(ROOTS[8])
    assert isinstance(err2, ProofError) and isinstance(err2, ValueError)


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        merkle.inclusion_plan(8, 8)
    with pytest.raises(ValueError):
        merkle.consistency_plan(5, 4)
    with pytest.raises(ValueError, match="not a subtree"):
        merkle.subtree_nodes(2, 6)  # 4 leaves starting at 2 are not an RFC subtree
    with pytest.raises(ValueError, match="frontier"):
        merkle.append_leaves(3, [SOME_HASH], [SOME_HASH])
    with pytest.raises(ValueError, match="32 bytes"):
        merkle.append_leaves(0, [], [b"short"])
    with pytest.raises(ValueError):
        merkle.fold([])


def test_subtree_nodes_tile_right_edges() -> None:
    assert merkle.subtree_nodes(0, 7) == (Node(2, 0), Node(1, 2), Node(0, 6))
    assert merkle.subtree_nodes(8, 13) == (Node(2, 2), Node(0, 12))
    assert merkle.subtree_nodes(16, 32) == (Node(4, 1),)
    assert Node(2, 3).begin == 12 and Node(2, 3).end == 16


# --- exhaustive and property tests against the reference ---------------------------


def distinct_entries(n: int, salt: bytes = b"") -> list[bytes]:
    # Distinct entries: with equal leaves a "wrong" index can be a right one.
    return [salt + i.to_bytes(4, "big") for i in range(n)]


def test_every_proof_up_to_64_leaves_matches_the_rfc_definition() -> None:
    entries = distinct_entries(64)
    store = store_of(entries, chunks=[1, 2, 5, 13])
    roots = [ref_mth(entries[:n]) for n in range(65)]
    hashes = [merkle.leaf_hash(e) for e in entries]
    for n in range(1, 65):
        get = store.reader(n)
        assert merkle.root_from_store(n, get) == roots[n]
        for i in range(n):
            proof = merkle.inclusion_proof(i, n, get)
            assert proof == ref_path(i, entries[:n])
            merkle.verify_inclusion(hashes[i], i, n, proof, roots[n])
        for m in range(n + 1):
            proof = merkle.consistency_proof(m, n, get)
            if 0 < m < n:
                assert proof == ref_proof(m, entries[:n])
            merkle.verify_consistency(m, n, proof, roots[m], roots[n])


def test_every_proof_up_to_300_leaves_verifies_in_log_reads() -> None:
    n_max = 300
    entries = distinct_entries(n_max, b"x")
    hashes = [merkle.leaf_hash(e) for e in entries]
    store = store_of(entries, chunks=[7, 1, 64, 100])
    assert len(store.nodes) == 2 * n_max - bin(n_max).count("1")
    roots = [merkle.root_hash(hashes[:n]) for n in range(n_max + 1)]
    assert roots[n_max] == ref_mth(entries)
    for n in range(1, n_max + 1):
        get = store.reader(n)
        budget = 2 * n.bit_length()
        for i in range(n):
            store.reads = 0
            proof = merkle.inclusion_proof(i, n, get)
            assert store.reads <= budget
            merkle.verify_inclusion(hashes[i], i, n, proof, roots[n])
        for m in range(n + 1):
            store.reads = 0
            proof = merkle.consistency_proof(m, n, get)
            assert store.reads <= budget
            merkle.verify_consistency(m, n, proof, roots[m], roots[n])


@st.composite
def trees(draw: st.DrawFn) -> tuple[list[bytes], list[int]]:
    n = draw(st.integers(min_value=1, max_value=300))
    salt = draw(st.binary(max_size=8))
    chunks = draw(st.lists(st.integers(min_value=0, max_value=40), max_size=6))
    return distinct_entries(n, salt), chunks


PROPERTY = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY
@given(tree=trees(), data=st.data())
def test_random_trees_inclusion(tree: tuple[list[bytes], list[int]], data: st.DataObject) -> None:
    entries, chunks = tree
    store = store_of(entries, chunks)
    n = data.draw(st.integers(min_value=1, max_value=len(entries)), label="tree size")
    get = store.reader(n)
    root = ref_mth(entries[:n])
    assert merkle.root_from_store(n, get) == root
    for i in range(n):
        merkle.verify_inclusion(
            merkle.leaf_hash(entries[i]), i, n, merkle.inclusion_proof(i, n, get), root
        )

    i = data.draw(st.integers(min_value=0, max_value=n - 1), label="index")
    proof = merkle.inclusion_proof(i, n, get)
    assert proof == ref_path(i, entries[:n])
    # A modified entry fails.
    with pytest.raises(InclusionProofError):
        merkle.verify_inclusion(merkle.leaf_hash(entries[i] + b"!"), i, n, proof, root)
    # A modified proof fails.
    if proof:
        k = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
        bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
        bad = list(proof)
        bad[k] = bytes(x ^ (1 << (bit % 8)) if j == bit // 8 else x for j, x in enumerate(bad[k]))
        with pytest.raises(InclusionProofError):
            merkle.verify_inclusion(merkle.leaf_hash(entries[i]), i, n, bad, root)
    # The same proof for another index fails.
    j = data.draw(st.integers(min_value=0, max_value=n - 1), label="other index")
    if j != i:
        with pytest.raises(InclusionProofError):
            merkle.verify_inclusion(merkle.leaf_hash(entries[i]), j, n, proof, root)


@PROPERTY
@given(tree=trees(), data=st.data())
def test_random_trees_consistency(tree: tuple[list[bytes], list[int]], data: st.DataObject) -> None:
    entries, chunks = tree
    store = store_of(entries, chunks)
    n = data.draw(st.integers(min_value=1, max_value=len(entries)), label="second size")
    get = store.reader(n)
    roots = [merkle.root_hash(merkle.leaf_hash(e) for e in entries[:k]) for k in range(n + 1)]
    for m in range(n + 1):
        merkle.verify_consistency(m, n, merkle.consistency_proof(m, n, get), roots[m], roots[n])

    m = data.draw(st.integers(min_value=1, max_value=n), label="first size")
    proof = merkle.consistency_proof(m, n, get)
    if m < n:
        assert proof == ref_proof(m, entries[:n])
        # A rewritten history: the old tree with one entry changed is not a
        # prefix of the new tree.
        k = data.draw(st.integers(min_value=0, max_value=m - 1), label="forged entry")
        forged = list(entries[:m])
        forged[k] += b"!"
        with pytest.raises(ConsistencyProofError):
            merkle.verify_consistency(m, n, proof, ref_mth(forged), roots[n])
        # A modified proof fails.
        e = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="element")
        bad = list(proof)
        bad[e] = bytes([bad[e][0] ^ 1]) + bad[e][1:]
        with pytest.raises(ConsistencyProofError):
            merkle.verify_consistency(m, n, bad, roots[m], roots[n])
        # The proof does not fit another first size.
        other = data.draw(st.integers(min_value=1, max_value=n), label="other first size")
        if other != m:
            with pytest.raises(ConsistencyProofError):
                merkle.verify_consistency(other, n, proof, roots[other], roots[n])

"""storage.cid: the CIDs `ipfs add --cid-version 1` gives, checked three ways.

1. Published values: the two vectors of the issue, and kubo's own CLI test vectors
   (test/cli/add_test.go, test/cli/cid_profiles_test.go), whose inputs kubo generates with
   ChaCha20 keyed by SHA-256 of a seed string and a zero nonce
   (test/cli/testutils/random_deterministic.go), reproduced here byte for byte.
2. The tree decoded back: a small protobuf reader, written separately from the encoder,
   checks link order, Name, Tsize, blocksizes and filesize against the UnixFS and DAG-PB specs.
3. A recursive reference of boxo's balanced layout (Layout / fillNodeRec), run with tiny chunks
   and fan-outs so that deep trees stay cheap.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from Crypto.Cipher import ChaCha20
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.cid import (
    DEFAULT_CHUNK_SIZE,
    DEFAULT_MAX_LINKS,
    CidBuilder,
    cid_of_bytes,
    cid_of_file,
    cid_to_str,
)

CHUNK = DEFAULT_CHUNK_SIZE
MIB = 1 << 20


def kubo_random(size: int, seed: str) -> bytes:
    """kubo's DeterministicRandomReaderBytes(size, seed): ChaCha20(sha256(seed), zero nonce)."""
    cipher = ChaCha20.new(key=hashlib.sha256(seed.encode()).digest(), nonce=bytes(12))
    return cipher.encrypt(bytes(size))


def streamed_cid(data: bytes, piece: int = 100_003, **options: Any) -> str:
    builder = CidBuilder(**options)
    for start in range(0, len(data), piece):
        builder.update(data[start : start + piece])
    return builder.finalize()


def raw_cid(data: bytes) -> str:
    """CIDv1, codec raw (0x55), sha2-256 multihash, base32 lower with prefix b."""
    binary = bytes((1, 0x55, 0x12, 0x20)) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(binary).decode().lower().rstrip("=")


# --- a protobuf reader, independent of the encoder ---------------------------------------------


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def read_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) in wire order; length-delimited values as bytes."""
    fields: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, pos = read_varint(buf, pos)
            fields.append((field, value))
        elif wire_type == 2:
            length, pos = read_varint(buf, pos)
            fields.append((field, buf[pos : pos + length]))
            pos += length
        else:
            raise AssertionError(f"unexpected wire type {wire_type}")
    assert pos == len(buf)
    return fields


def as_bytes(value: int | bytes) -> bytes:
    assert isinstance(value, bytes)
    return value


def decode_node(block: bytes) -> dict:
    """A dag-pb file node: its links (hash, name, tsize) and its UnixFS Data fields."""
    fields = read_fields(block)
    numbers = [number for number, _ in fields]
    # DAG-PB: all Links (field 2) come before Data (field 1), which is last and single.
    assert numbers == [2] * (len(numbers) - 1) + [1]
    links = []
    for _, raw_link in fields[:-1]:
        link = read_fields(as_bytes(raw_link))
        assert [number for number, _ in link] == [1, 2, 3]  # Hash, Name, Tsize in that order
        assert link[1][1] == b""  # Name present and empty, as kubo writes it
        links.append({"hash": link[0][1], "tsize": link[2][1]})
    unixfs = read_fields(as_bytes(fields[-1][1]))
    assert unixfs[0] == (1, 2)  # Type = File
    assert unixfs[1][0] == 3  # filesize, then blocksizes only (no Data in an internal node)
    assert all(number == 4 for number, _ in unixfs[2:])
    return {
        "links": links,
        "filesize": unixfs[1][1],
        "blocksizes": [value for _, value in unixfs[2:]],
    }


class Tree:
    """Collects the dag-pb nodes a builder reports, to walk the tree from its root."""

    def __init__(self) -> None:
        self.blocks: dict[bytes, bytes] = {}

    def __call__(self, cid: bytes, block: bytes) -> None:
        assert cid == bytes((1, 0x70, 0x12, 0x20)) + hashlib.sha256(block).digest()
        self.blocks[cid] = block

    def node(self, cid: bytes) -> dict:
        return decode_node(self.blocks[cid])

    def check(self, cid: bytes, data: bytes) -> int:
        """Check the subtree at `cid` covers `data`; return its Tsize (cumulative size)."""
        if cid[:2] == b"\x01\x55":  # a raw leaf
            assert cid == bytes((1, 0x55, 0x12, 0x20)) + hashlib.sha256(data).digest()
            return len(data)
        node = self.node(cid)
        assert node["filesize"] == len(data) == sum(node["blocksizes"])
        assert 1 <= len(node["links"]) <= DEFAULT_MAX_LINKS
        total, offset = len(self.blocks[cid]), 0
        for link, size in zip(node["links"], node["blocksizes"], strict=True):
            assert link["tsize"] == self.check(link["hash"], data[offset : offset + size])
            total += link["tsize"]
            offset += size
        return total


def root_binary(cid_text: str) -> bytes:
    padded = cid_text[1:].upper() + "=" * (-len(cid_text[1:]) % 8)
    return base64.b32decode(padded)


# --- published vectors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),  # issue 5
        (b"hello world\n", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
        # kubo test/cli/add_test.go, shortStringCidV1
        (b"hello world", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
    ],
)
def test_known_vectors(data: bytes, expected: str) -> None:
    assert cid_of_bytes(data) == expected


V0 = {"raw_leaves": False, "cid_version": 0}


@pytest.mark.parametrize(
    ("size", "seed", "options", "expected"),
    [
        # Profile unixfs-v1-2025 (1 MiB chunks, 1024 links, raw leaves, CIDv1),
        # cid_profiles_test.go FileAtChunkSizeCID / FileOverChunkSizeCID.
        (MIB, "chunk-v1-seed", {"chunk_size": MIB, "max_links": 1024},
         "bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta"),
        (MIB + 1, "chunk-v1-seed", {"chunk_size": MIB, "max_links": 1024},
         "bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64"),
        # Profile test-cid-v1 (1 MiB chunks, 174 links, raw leaves, CIDv1), add_test.go: the
        # 174-link boundary and the rebalanced 2-level tree, exactly our layout and encoding.
        (174 * MIB, "v1-seed", {"chunk_size": MIB},
         "bafybeigwduxcf2aawppv3isnfeshnimkyplvw3hthxjhr2bdeje4tdaicu"),
        (175 * MIB, "v1-seed", {"chunk_size": MIB},
         "bafybeidhd7lo2n2v7lta5yamob3xwhbxcczmmtmhquwhjesi35jntf7mpu"),
        # Profile unixfs-v0-2015 / legacy-cid-v0 (256 KiB chunks, 174 links, dag-pb leaves,
        # CIDv0): the same tree shape as the default at 174 and 175 chunks and at 174 chunks
        # plus one byte.
        (CHUNK, "chunk-v0-seed", V0, "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE"),
        (CHUNK + 1, "chunk-v0-seed", V0, "QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ"),
        (174 * CHUNK, "v0-seed", V0, "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2"),
        (174 * CHUNK + 1, "v0-seed", V0, "QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW"),
        (175 * CHUNK, "v0-seed", V0, "QmepeWtdmS1hHXx1oZXsPUv6bMrfRRKfZcoPPU4eEfjnbf"),
    ],
)  # fmt: skip
def test_kubo_published_vectors(size: int, seed: str, options: dict, expected: str) -> None:
    assert streamed_cid(kubo_random(size, seed), piece=MIB, **options) == expected


def test_kubo_vectors_for_dag_pb_leaves_of_small_files() -> None:
    # add_test.go: shortStringCidV0 and shortStringCidV1NoRawLeaves; the empty file's CIDv0.
    assert streamed_cid(b"hello world", **V0) == "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD"
    assert (
        streamed_cid(b"hello world", raw_leaves=False)
        == "bafybeihykld7uyxzogax6vgyvag42y7464eywpf55gxi5qpoisibh3c5wa"
    )
    assert streamed_cid(b"", **V0) == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"


# --- the sizes of the issue, with the tree decoded ---------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK])
def test_single_chunk_is_the_raw_leaf(size: int) -> None:
    data = kubo_random(size, "bizi-single")
    tree = Tree()
    cid = streamed_cid(data, on_node=tree)
    assert cid == raw_cid(data)
    assert cid.startswith("bafk")
    assert tree.blocks == {}


@pytest.mark.parametrize(
    ("size", "links"),
    [
        (CHUNK + 1, [CHUNK, 1]),
        (1_048_583, [CHUNK] * 4 + [7]),
        (174 * CHUNK, [CHUNK] * 174),  # exactly full: still one level
    ],
)
def test_one_level_tree(size: int, links: list[int]) -> None:
    data = kubo_random(size, "bizi-one-level")
    tree = Tree()
    cid = streamed_cid(data, on_node=tree)
    assert cid.startswith("bafy")
    root = tree.node(root_binary(cid))
    assert root["blocksizes"] == links
    assert root["filesize"] == size
    assert [link["tsize"] for link in root["links"]] == links
    offsets = [sum(links[:i]) for i in range(len(links))]
    assert [link["hash"] for link in root["links"]] == [
        root_binary(raw_cid(data[o : o + n])) for o, n in zip(offsets, links, strict=True)
    ]
    assert tree.check(root_binary(cid), data) == len(tree.blocks[root_binary(cid)]) + size


def test_more_than_174_chunks_adds_a_level() -> None:
    size = 174 * CHUNK + 1
    data = kubo_random(size, "bizi-two-levels")
    tree = Tree()
    cid = streamed_cid(data, piece=65_537, on_node=tree)
    root = tree.node(root_binary(cid))
    # balanced.Layout: the full depth-1 tree becomes the first child of a new root, and the
    # one extra byte hangs under a second depth-1 node of a single link.
    assert root["blocksizes"] == [174 * CHUNK, 1]
    full, rest = (tree.node(link["hash"]) for link in root["links"])
    assert full["blocksizes"] == [CHUNK] * 174
    assert rest["blocksizes"] == [1]
    assert rest["links"][0]["hash"] == root_binary(raw_cid(data[-1:]))
    tree.check(root_binary(cid), data)
    assert len(tree.blocks) == 3


def test_file_and_stream_agree(tmp_path: Path) -> None:
    data = kubo_random(1_048_583, "bizi-file")
    path = tmp_path / "object.bin"
    path.write_bytes(data)
    assert cid_of_file(path) == streamed_cid(data, piece=1) == cid_of_bytes(data)


# --- a reference of the balanced layout --------------------------------------------------------


def reference_cid(data: bytes, chunk_size: int, max_links: int) -> str:
    """boxo's balanced.Layout and fillNodeRec, recursively and in memory, from the definition."""
    chunks = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]
    queue = list(chunks)

    def leaf() -> tuple[bytes, int, int]:
        chunk = queue.pop(0)
        binary = bytes((1, 0x55, 0x12, 0x20)) + hashlib.sha256(chunk).digest()
        return binary, len(chunk), len(chunk)

    def varint(n: int) -> bytes:
        out = b""
        while n >= 0x80:
            out += bytes(((n & 0x7F) | 0x80,))
            n >>= 7
        return out + bytes((n,))

    def node(children: list[tuple[bytes, int, int]]) -> tuple[bytes, int, int]:
        unixfs = b"\x08\x02\x18" + varint(sum(c[2] for c in children))
        unixfs += b"".join(b"\x20" + varint(c[2]) for c in children)
        block = b""
        for binary, tsize, _ in children:
            link = b"\x0a" + varint(len(binary)) + binary + b"\x12\x00\x18" + varint(tsize)
            block += b"\x12" + varint(len(link)) + link
        block += b"\x0a" + varint(len(unixfs)) + unixfs
        binary = bytes((1, 0x70, 0x12, 0x20)) + hashlib.sha256(block).digest()
        return binary, len(block) + sum(c[1] for c in children), sum(c[2] for c in children)

    def fill(children: list[tuple[bytes, int, int]], depth: int) -> tuple[bytes, int, int]:
        while len(children) < max_links and queue:
            children.append(leaf() if depth == 1 else fill([], depth - 1))
        return node(children)

    root = leaf()
    depth = 1
    while queue:
        root = fill([root], depth)
        depth += 1
    return cid_to_str(root[0])


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=700),
    chunk_size=st.integers(1, 9),
    max_links=st.integers(2, 5),
    pieces=st.lists(st.integers(0, 40), max_size=30),
)
def test_streaming_matches_reference_layout(
    data: bytes, chunk_size: int, max_links: int, pieces: list[int]
) -> None:
    # Tiny chunks and fan-outs give trees four or five levels deep from a few hundred bytes.
    builder = CidBuilder(chunk_size=chunk_size, max_links=max_links)
    offset = 0
    for piece in pieces:
        builder.update(data[offset : offset + piece])
        offset += piece
    builder.update(data[offset:])
    assert builder.finalize() == reference_cid(data, chunk_size, max_links)
    assert builder.size == len(data)


def test_memory_stays_bounded() -> None:
    builder = CidBuilder(chunk_size=16, max_links=3)
    for _ in range(1000):
        builder.update(b"x" * 7)
        assert len(builder._buffer) < 16
        assert all(len(level) <= 3 for level in builder._levels)
    assert len(builder._levels) <= 6  # 1000*7/16 = 438 chunks: log3(438) < 6 levels


def test_misuse_is_refused() -> None:
    with pytest.raises(ValueError, match="CIDv0"):
        CidBuilder(cid_version=0)
    with pytest.raises(ValueError):
        CidBuilder(chunk_size=0)
    with pytest.raises(ValueError):
        CidBuilder(max_links=1)
    builder = CidBuilder()
    builder.update(b"abc")
    first = builder.finalize()
    assert builder.finalize() == first  # idempotent
    with pytest.raises(RuntimeError):
        builder.update(b"more")

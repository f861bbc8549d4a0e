"""C2SP tlog-tiles: paths, widths and bundles as the spec defines them, and the tiles the
portal serves checked against the tree store's own hashes and proofs at every level."""

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ledger import merkle, tiles
from ledger.canonical import canonical_json
from ledger.models import Entry, OutboxEvent, TreeNode
from ledger.selectors import inclusion_proof
from ledger.services import append_all, record_event, seal_block_if_due

pytestmark = pytest.mark.django_db


# --- the spec's encoding ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("ref", "path"),
    [
        (tiles.TileRef(0, 0), "tile/0/000"),
        (tiles.TileRef(0, 999), "tile/0/999"),
        (tiles.TileRef(0, 1000), "tile/0/x001/000"),
        (tiles.TileRef(2, 1234067), "tile/2/x001/x234/067"),  # the spec's example
        (tiles.TileRef(1, 5, 17), "tile/1/005.p/17"),
        (tiles.TileRef(None, 3, 255), "tile/entries/003.p/255"),
        (tiles.TileRef(63, 0), "tile/63/000"),
    ],
)
def test_tile_paths_round_trip(ref, path):
    assert ref.path == path
    assert tiles.parse_path(path) == ref


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",  # not zero-padded
        "tile/0/x000/001",  # a superfluous group
        "tile/0/001/002",  # inner group without x
        "tile/00/001",  # leading zero in the level
        "tile/64/000",  # level above 63
        "tile/0/000.p/256",
        "tile/0/000.p/0",
        "tile/0/000.p/07",
        "tile/data/000",
        "tile/0/000/",
        "tile/-1/000",
    ],
)
def test_malformed_tile_paths_are_refused(path):
    with pytest.raises(tiles.TilePathError):
        tiles.parse_path(path)


def test_widths_follow_the_spec_examples():
    # "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level
    # 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
    # partial level 2 tile of width 1."
    assert [tiles.available_width(0, n, 70_000) for n in (0, 272, 273, 274)] == [256, 256, 112, 0]
    assert [tiles.available_width(1, n, 70_000) for n in (0, 1, 2)] == [256, 17, 0]
    assert [tiles.available_width(2, n, 70_000) for n in (0, 1)] == [1, 0]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    # tile of width 1."
    assert tiles.available_width(0, 0, 256) == 256 and tiles.available_width(1, 0, 256) == 1
    assert tiles.available_width(0, 0, 0) == 0


def test_entry_bundles_are_uint16_length_prefixed():
    entries = [b"", b"a", bytes(range(256)) * 3, b"x" * tiles.MAX_ENTRY_BYTES]
    data = tiles.bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a"
    assert tiles.unbundle(data) == entries
    with pytest.raises(ValueError):
        tiles.bundle([b"x" * (tiles.MAX_ENTRY_BYTES + 1)])
    with pytest.raises(ValueError):
        tiles.unbundle(data[:-1])


# --- tiles served from the tree store ----------------------------------------------------


def _log_of(size: int) -> list[bytes]:
    """A sealed log of `size` entries, written straight into the store (as `append_pending`
    does, without one outbox row per entry: 65,537 entries in a few seconds)."""
    data = [canonical_json({"v": 2, "kind": "dataset.published", "n": i}) for i in range(size)]
    leaves = [merkle.leaf_hash(d) for d in data]
    result = merkle.append_leaves(0, [], leaves)
    now = timezone.now()
    Entry.objects.bulk_create(
        [
            Entry(
                index=i,
                event_id=-(i + 1),  # no outbox event: keep clear of real ids
                kind="dataset.published",
                data=d,
                leaf_hash=leaves[i],
                recorded_at=now,
            )
            for i, d in enumerate(data)
        ],
        batch_size=5000,
    )
    TreeNode.objects.bulk_create(
        [TreeNode(key=TreeNode.key_of(n.level, n.index), hash=n.hash) for n in result.new_nodes],
        batch_size=5000,
    )
    if size:
        seal_block_if_due(tree_size=size, root=result.root, now=now, force=True)
    return leaves


def _get(api, cast, path):
    api.force_authenticate(cast.aud)
    return api.get(reverse("api-ledger-tlog-tile", args=[path]))


@pytest.mark.parametrize("size", [0, 1, 255, 256, 257, 65_537])
def test_every_tile_of_every_level_holds_the_trees_hashes(api, cast, size):
    leaves = _log_of(size)
    level = 0
    while size >> (8 * level):
        count = size >> (8 * level)
        for n in range((count + 255) // 256):
            width = min(256, count - n * 256)
            ref = tiles.TileRef(level, n, width)
            response = _get(api, cast, ref.path.removeprefix("tile/"))
            assert response.status_code == 200, ref.path
            assert response["Cache-Control"] == "private, max-age=31536000, immutable"
            got = [response.content[i : i + 32] for i in range(0, len(response.content), 32)]
            span = 256**level
            start = n * 256 * span
            want = [
                merkle.root_hash(leaves[start + i * span : start + (i + 1) * span])
                for i in range(width)
            ]
            assert got == want, ref.path
            if width < 256:  # the full tile does not exist yet, and nothing past the edge
                assert _get(api, cast, tiles.TileRef(level, n).path[5:]).status_code == 404
                wider = tiles.TileRef(level, n, width + 1).path[5:]
                assert width == 255 or _get(api, cast, wider).status_code == 404
        assert (
            _get(api, cast, tiles.TileRef(level, (count + 255) // 256).path[5:]).status_code == 404
        )
        level += 1
    # A tile whose hashes at this level do not exist at all is not served, not even empty.
    assert _get(api, cast, tiles.TileRef(level, 0, 1).path[5:]).status_code == 404


def test_entry_bundles_hold_the_exact_entry_bytes_and_stop_at_the_checkpoint(api, cast):
    leaves = _log_of(300)
    full = _get(api, cast, "entries/000")
    assert full.status_code == 200
    entries = tiles.unbundle(full.content)
    assert [merkle.leaf_hash(e) for e in entries] == leaves[:256]
    assert entries[5] == bytes(Entry.objects.get(index=5).data)
    partial = tiles.unbundle(_get(api, cast, "entries/001.p/44").content)
    assert [merkle.leaf_hash(e) for e in partial] == leaves[256:]
    # A narrower partial bundle is the same prefix: it never changes either.
    assert tiles.unbundle(_get(api, cast, "entries/001.p/3").content) == partial[:3]
    # Appended but not yet in a checkpoint: not served.
    with transaction.atomic():
        record_event("dataset.published", None, {"dataset": "x"})
    append_all()
    assert Entry.objects.count() == 301
    assert _get(api, cast, "entries/001.p/45").status_code == 404
    assert _get(api, cast, "0/001.p/45").status_code == 404
    assert not OutboxEvent.objects.exists()


def test_a_proof_built_from_tiles_is_the_api_proof(api, cast):
    leaves = _log_of(70_000 // 64)  # 1,093 entries: full and partial tiles at levels 0 and 1
    size = len(leaves)
    level0 = b"".join(
        _get(api, cast, tiles.TileRef(0, n, min(256, size - n * 256)).path[5:]).content
        for n in range((size + 255) // 256)
    )
    hashes = [level0[i : i + 32] for i in range(0, len(level0), 32)]
    assert hashes == leaves
    for index in (0, 255, 256, 1000, size - 1):
        built = merkle.inclusion_proof(
            index, size, lambda lvl, i: merkle.root_hash(hashes[i * 2**lvl : (i + 1) * 2**lvl])
        )
        assert built == inclusion_proof(index=index, tree_size=size).hashes


def test_tiles_are_for_consortium_members_and_the_checkpoint_is_short_lived(api, cast):
    _log_of(3)
    assert api.get(reverse("api-ledger-tlog-tile", args=["0/000.p/3"])).status_code == 401
    api.force_authenticate(cast.bob.user)
    checkpoint = api.get(reverse("api-ledger-tlog-checkpoint"))
    assert checkpoint.status_code == 200 and checkpoint["Cache-Control"] == "private, max-age=5"
    assert checkpoint.content == api.get(reverse("api-ledger-checkpoint")).content
    assert checkpoint.content.decode().splitlines()[1] == "3"
    assert api.get(reverse("api-ledger-tlog-tile", args=["0/x000/000"])).status_code == 404

"""Write the whole log as C2SP tlog-tiles static files, for a member to mirror and verify.

The folder then holds `checkpoint`, every full tile and entry bundle, the partial ones of the
checkpoint's tree size, and `policy` (tlog-policy): served by any web server as they are
(`tile/0/x001/234.p/5` is a file `5` in a folder `234.p`), they are exactly what the portal
serves under /api/v1/ledger/tlog/. Reads go in large key ranges, never a query per tile.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger import selectors, tiles
from ledger.keys import log_verifier
from ledger.models import Entry, TreeNode

_TILES_PER_READ = 64


@dataclass(frozen=True)
class ExportSummary:
    tree_size: int
    tiles: int
    bundles: int
    bytes: int


def _write(root: Path, relative: str, data: bytes) -> int:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # a mirror serving the folder never sees half a tile
    return len(data)


def _hash_tiles(root: Path, level: int, tree_size: int) -> tuple[int, int]:
    count = tree_size >> (tiles.TILE_HEIGHT * level)  # hashes at this tile level
    written = size = 0
    first_tile = 0
    while first_tile * tiles.TILE_WIDTH < count:
        low = first_tile * tiles.TILE_WIDTH
        high = min(count, low + _TILES_PER_READ * tiles.TILE_WIDTH)
        base = TreeNode.key_of(tiles.TILE_HEIGHT * level, 0)
        hashes = [
            bytes(h)
            for h in TreeNode.objects.filter(key__gte=base + low, key__lt=base + high)
            .order_by("key")
            .values_list("hash", flat=True)
        ]
        if len(hashes) != high - low:
            raise LookupError(f"the tree store lacks hashes at tile level {level}")
        for at in range(0, len(hashes), tiles.TILE_WIDTH):
            chunk = hashes[at : at + tiles.TILE_WIDTH]
            ref = tiles.TileRef(level=level, index=(low + at) // tiles.TILE_WIDTH, width=len(chunk))
            size += _write(root, ref.path, b"".join(chunk))
            written += 1
        first_tile += _TILES_PER_READ
    return written, size


def export_tiles(
    directory: Path, *, progress: Callable[[int, int], None] | None = None
) -> ExportSummary:
    """Export the log up to its latest checkpoint into `directory`; returns what was written."""
    block = selectors.latest_block()
    if block is None:
        raise LookupError("No block has been sealed yet: there is no checkpoint to export.")
    tree_size = block.tree_size
    directory.mkdir(parents=True, exist_ok=True)
    total = _write(directory, "checkpoint", selectors.checkpoint_with_cosignatures(block).encode())
    total += _write(
        directory, "policy", selectors.witness_policy(log_verifier().to_vkey(), "").encode()
    )
    tile_count = 0
    level = 0
    while tree_size >> (tiles.TILE_HEIGHT * level):
        written, size = _hash_tiles(directory, level, tree_size)
        tile_count, total = tile_count + written, total + size
        level += 1
    bundles = 0
    batch: list[bytes] = []
    entries = (
        Entry.objects.filter(index__lt=tree_size)
        .order_by("index")
        .values_list("data", flat=True)
        .iterator(chunk_size=4 * tiles.TILE_WIDTH)
    )
    for done, data in enumerate(entries, start=1):
        batch.append(bytes(data))
        if len(batch) == tiles.TILE_WIDTH or done == tree_size:
            ref = tiles.TileRef(level=None, index=(done - 1) // tiles.TILE_WIDTH, width=len(batch))
            total += _write(directory, ref.path, tiles.bundle(batch))
            bundles += 1
            batch = []
            if progress:
                progress(done, tree_size)
    return ExportSummary(tree_size=tree_size, tiles=tile_count, bundles=bundles, bytes=total)

"""C2SP tlog-tiles: the log as static, immutable files (https://c2sp.org/tlog-tiles).

Pure functions, no Django. A *tile* at level L, index N holds up to 256 consecutive Merkle
tree hashes at tree level 8·L: hash i is MTH(D[(N·256+i)·256^L : (N·256+i+1)·256^L]), which
is exactly the perfect-subtree node (8·L, N·256+i) that `ledger.merkle`'s store keeps. So a
tile is one range read of that store, and it never changes once its hashes exist: a full
tile (256 hashes, 8,192 bytes) is immutable, and so is a partial one of width W < 256,
because the first W hashes of a level are fixed the moment they complete.

Entry bundles (`tile/entries/N[.p/W]`) are the exact entry bytes of entries N·256 … N·256+W−1,
each prefixed by its length as a big-endian uint16, which is why an entry is at most
65,535 bytes (`MAX_ENTRY_BYTES`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MAX_ENTRY_BYTES",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TilePathError",
    "TileRef",
    "available_width",
    "bundle",
    "parse_path",
    "unbundle",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT  # 256 hashes or entries
MAX_LEVEL = 63
MAX_ENTRY_BYTES = 0xFFFF

# SPEC: "<N> ... zero-padded 3-digit path elements. All but the last path element MUST begin
# with an x"; "<L> ... between 0 and 63, with no additional leading zeroes"; "<W> ... between
# 1 and 255, with no additional leading zeroes".
_PATH = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?"
)


class TilePathError(ValueError):
    """A path that is not a tile or entry bundle in the spec's encoding."""


@dataclass(frozen=True)
class TileRef:
    """A hash tile (`level` ≥ 0) or an entry bundle (`level` None), and its width."""

    level: int | None
    index: int
    width: int = TILE_WIDTH

    @property
    def is_partial(self) -> bool:
        return self.width < TILE_WIDTH

    @property
    def path(self) -> str:
        digits = f"{self.index:03d}"
        digits = "0" * (-len(digits) % 3) + digits
        groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
        encoded = "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])
        level = "entries" if self.level is None else str(self.level)
        suffix = f".p/{self.width}" if self.is_partial else ""
        return f"tile/{level}/{encoded}{suffix}"

    def first(self) -> int:
        """The index, at its own tree level, of the first hash (or entry) it holds."""
        return self.index * TILE_WIDTH

    @property
    def tree_level(self) -> int:
        return 0 if self.level is None else TILE_HEIGHT * self.level


def parse_path(path: str) -> TileRef:
    """`tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`, strictly as the spec writes them."""
    match = _PATH.fullmatch(path)
    if match is None:
        raise TilePathError(f"{path!r} is not a tile path (tile/<L>/<N>[.p/<W>])")
    level_text, width_text = match["level"], match["width"]
    level = None if level_text == "entries" else int(level_text)
    if level is not None and level > MAX_LEVEL:
        raise TilePathError(f"tile level {level} is above {MAX_LEVEL}")
    groups = match["index"].replace("x", "").split("/")
    width = int(width_text) if width_text else TILE_WIDTH
    if width_text and width >= TILE_WIDTH:
        raise TilePathError(f"a partial tile is 1 to {TILE_WIDTH - 1} wide, not {width}")
    ref = TileRef(level=level, index=int("".join(groups)), width=width)
    if ref.path != path:  # e.g. a superfluous leading "x000/" group
        raise TilePathError(f"{path!r} is not in canonical form; it is {ref.path!r}")
    return ref


def available_width(level: int | None, index: int, tree_size: int) -> int:
    """How many hashes (entries) of tile `index` at `level` a tree of `tree_size` has (0–256).

    SPEC: the partial tile at level l of a tree of size s has floor(s / 256**l) mod 256
    entries; the complete hashes at tree level 8·l number floor(s / 256**l) in all.
    """
    complete = tree_size >> (TILE_HEIGHT * (level or 0))
    return max(0, min(TILE_WIDTH, complete - index * TILE_WIDTH))


def bundle(entries: list[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length, then its bytes."""
    out = bytearray()
    for data in entries:
        if len(data) > MAX_ENTRY_BYTES:
            raise ValueError(f"an entry of {len(data)} bytes does not fit an entry bundle")
        out += len(data).to_bytes(2, "big") + data
    return bytes(out)


def unbundle(data: bytes) -> list[bytes]:
    """The entries of a bundle; ValueError if it is truncated."""
    entries, at = [], 0
    while at < len(data):
        if at + 2 > len(data):
            raise ValueError("an entry bundle ends inside a length prefix")
        size = int.from_bytes(data[at : at + 2], "big")
        if at + 2 + size > len(data):
            raise ValueError("an entry bundle ends inside an entry")
        entries.append(data[at + 2 : at + 2 + size])
        at += 2 + size
    return entries

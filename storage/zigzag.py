"""A systematic zigzag-decodable erasure code: k data and m parity shards, XOR and shifts only.

Construction
------------
We follow the zigzag-decodable (ZD) codes of Sung & Gong ("A ZigZag-decodable code with the MDS
property for distributed storage systems", ISIT 2013) and Gong & Sung ("Zigzag Decodable codes:
Linear-time erasure codes with applications to data storage", JCSS 89 (2017) 190-208), with a
Vandermonde-like shift matrix; the decodability argument below is complete in itself rather than
resting on the papers. A stripe is cut into k data shards d_0 .. d_{k-1} of n symbols
each (a symbol is u bytes, a multiple of 8, so numpy works in uint64 words). Parity shard i
(0 <= i < m) is the XOR of the data shards, shard j shifted right by

    s(i, j) = i * j symbols,

i.e. parity i is sum_j z^(i*j) d_j over GF(2)[z], z being a shift by one symbol. Parity 0 is the
plain XOR of RAID 5. Parity i is n + i*(k-1) symbols long, so the storage beyond the MDS ideal
(k+m)/k is (k-1) * m*(m-1)/2 symbols of shift padding per stripe.

Why any k of the k+m shards rebuild the stripe
----------------------------------------------
Say r <= m data shards are lost, columns c_1 < ... < c_r, and r parity shards survive, rows
p_1 < ... < p_r (at most m shards are lost in all, so there are enough). XORing the surviving
data, shifted, out of those parities leaves r equations in the r lost shards only. Pair the
columns with the rows in opposite order: column c_a is solved from row q(a) = p_{r+1-a}.
Peeling keeps, for each lost shard a, the number t_a of leading symbols already solved. Symbol
x_a[t_a] sits at position t_a + q(a)*c_a of row q(a), alone unless some other shard b still has
an unsolved symbol there, which needs t_b <= t_a + q(a)*(c_a - c_b) ("b blocks a"; a finished
shard blocks nothing). If every unfinished shard were blocked, following blockers would give a
cycle a -> b -> ... -> a, and adding its inequalities would give

    0 = sum (t_b - t_a)  <=  sum q(a)*c_a - sum q(a)*c_b(a).

q decreases where c increases, so by the rearrangement inequality the pairing a -> c_a is the
unique minimum of sum q(a)*c_sigma(a) over the permutations sigma of the cycle (its rows and
columns are distinct), and the right-hand side is negative for the cycle's permutation: a
contradiction. So some lost shard can always solve its next symbol from an equation with a
single unknown symbol, and by induction on sum t_a peeling recovers everything. The only
property used is that s(i, j) = i*j has strictly increasing differences
(s(i',j') - s(i',j) > s(i,j') - s(i,j) for i' > i, j' > j). In algebraic terms the r x r matrix
(z^(p*c)) has a single lowest-degree term in its determinant, so it is invertible: the code is
MDS over GF(2)[z].

Decoding, and the sizes that keep it fast
-----------------------------------------
Peeling solves runs of whole symbols: a run ends where another lost shard's unsolved part
begins, at least one symbol later. For r >= 3 lost shards the run schedule depends only on the
loss pattern, so it is computed once and cached (`_schedule`); each step copies the solved run
and XORs it out of the other r-1 rows. That is about r*n steps per stripe.
For r = 2 the two rows are first combined so that peeling becomes the recurrence
x[t] = U[t] ^ x[t-D], one XOR per D symbols (`_rebuild_two`); r = 1 needs no peeling.

The padding costs (k-1)*m*(m-1)/2 symbols and peeling about r*n steps, both counted in symbols,
so the symbol size u only sets how many bytes each numpy call moves. The shard length fixes u
(`symbol_size_for`): it grows in powers of two up to 4096 bytes while the shard keeps at least
640 symbols. At the default stripe, 640 symbols of 4 KiB per shard (2.5 MiB; 10 MiB for k=4,
25 MiB for k=10), the padding is 0.08 % of the stored bytes for (4, 2) and 0.60 % for (10, 4).

The reference implementation (`_reference_encode`, `_reference_decode`) works byte by byte in
plain Python, with a generic peeling decoder that knows nothing of the schedule; tests feed both
paths the same inputs. No integrity check is made here: the caller checks each shard's hash
before handing it in and passes a corrupt shard as missing.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = [
    "DEFAULT_SHARD_SYMBOLS",
    "MAX_SYMBOL_SIZE",
    "MIN_SYMBOL_SIZE",
    "ShardLengthError",
    "TooFewShardsError",
    "ZigzagCode",
    "ZigzagError",
    "decode",
    "encode",
    "parity_len",
    "shard_len_for",
    "symbol_size_for",
]

MIN_SYMBOL_SIZE = 8  # one uint64 word
MAX_SYMBOL_SIZE = 4096
# Symbols per shard that the symbol size keeps at least (see the module docstring): 640 keeps the
# (10, 4) padding at 54/(14*640) = 0.60 % of the stored bytes, and under 0.01 in absolute storage
# ratio too (54/(10*640) = 0.0084), while peeling four lost shards stays near 4*640 steps.
DEFAULT_SHARD_SYMBOLS = 640

_BLOCK_WORDS = 1 << 15  # column blocks of 256 KiB per parity row, so rows stay in cache
_PAGE_WORDS = 4096 // 8  # parity rows start on 4 KiB boundaries (`_parity_row_words`)
# Decoding reuses per-thread scratch buffers up to this size (words): freeing and reallocating
# multi-MiB arrays per stripe lets glibc return them to the kernel and fault them back in,
# which cost more than the decoding itself in measurements.
_SCRATCH_LIMIT_WORDS = 64 << 17  # 64 MiB
_scratch = threading.local()

_Buffer = bytes | bytearray | memoryview | np.ndarray


class ZigzagError(Exception):
    """Base class of the errors this module raises."""


class TooFewShardsError(ZigzagError):
    """More than m of a stripe's k+m shards are missing, so it cannot be rebuilt.

    Nothing is returned in that case, never partial or guessed bytes. `missing` lists the
    missing shard indices (data 0..k-1, then parity k..k+m-1).
    """

    def __init__(self, k: int, m: int, missing: Sequence[int]) -> None:
        self.k = k
        self.m = m
        self.missing = tuple(missing)
        have = k + m - len(self.missing)
        super().__init__(
            f"cannot rebuild the stripe: {len(self.missing)} of its {k + m} shards are missing "
            f"(indices {', '.join(map(str, self.missing))}); a ({k}, {m}) zigzag code needs any "
            f"{k} shards and {have} are left"
        )


class ShardLengthError(ZigzagError, ValueError):
    """A shard does not have the length the code defines for it."""


def symbol_size_for(shard_len: int) -> int:
    """The symbol size (bytes) used for data shards of `shard_len` bytes.

    The largest power of two from 8 to 4096 that divides `shard_len` and leaves at least
    `DEFAULT_SHARD_SYMBOLS` symbols per shard, else 8. Raises `ShardLengthError` unless
    `shard_len` is a positive multiple of 8.
    """
    if shard_len <= 0 or shard_len % MIN_SYMBOL_SIZE:
        raise ShardLengthError(f"a shard must be a positive multiple of 8 bytes, got {shard_len}")
    u = MAX_SYMBOL_SIZE
    while u > MIN_SYMBOL_SIZE and (shard_len % u or shard_len < DEFAULT_SHARD_SYMBOLS * u):
        u //= 2
    return u


def shard_len_for(length: int, k: int) -> int:
    """The data shard length (bytes) for a stripe of `length` bytes cut into k shards.

    Rounded up to whole symbols of a size that `symbol_size_for` picks again (or a larger one),
    so a shard never has needlessly many small symbols. An empty stripe has 8-byte shards.
    """
    if length < 0:
        raise ValueError(f"length must not be negative, got {length}")
    base = max(1, -(-length // k))
    u = MAX_SYMBOL_SIZE
    while u > MIN_SYMBOL_SIZE and base < DEFAULT_SHARD_SYMBOLS * u:
        u //= 2
    return -(-base // u) * u


def parity_len(i: int, k: int, shard_len: int) -> int:
    """Length in bytes of parity shard i (0-based) for data shards of `shard_len` bytes."""
    return shard_len + i * (k - 1) * symbol_size_for(shard_len)


def _check_km(k: int, m: int) -> None:
    if k < 1 or m < 0:
        raise ValueError(f"need k >= 1 data and m >= 0 parity shards, got k={k}, m={m}")


def _nbytes(buf: _Buffer) -> int:
    return buf.nbytes if isinstance(buf, np.ndarray) else memoryview(buf).nbytes


def _words(buf: _Buffer, expected_len: int, index: int) -> np.ndarray:
    """A uint64 view of a shard, checking its length. No copy for contiguous input."""
    arr = buf if isinstance(buf, np.ndarray) else np.frombuffer(buf, dtype=np.uint8)
    if arr.nbytes != expected_len:
        raise ShardLengthError(f"shard {index} is {arr.nbytes} bytes, expected {expected_len}")
    return np.ascontiguousarray(arr).reshape(-1).view(np.uint8).view(np.uint64)


def _words_buffer(n: int, slot: str | None) -> np.ndarray:
    """n uint64 words of undefined content: fresh, or this thread's reusable `slot` buffer."""
    if slot is None:
        return np.empty(n, dtype=np.uint64)
    buf = getattr(_scratch, slot, None)
    if buf is None or buf.size < n:
        buf = np.empty(n, dtype=np.uint64)
        if n <= _SCRATCH_LIMIT_WORDS:
            setattr(_scratch, slot, buf)
    return buf[:n]


def _shifted_rows(
    flat: np.ndarray, row_words: int, rows: int, shift_words: int, width: int
) -> np.ndarray:
    """A (rows, width) view of `flat` whose row b starts at word b*row_words + b*shift_words.

    With parity row p stored at flat[p*row_words:], row p of the view is where data shard c
    lands in parity p when shift_words = c*u/8: one numpy call adds a shard to every parity.
    Callers keep the view inside `flat` (as_strided does not check).
    """
    item = flat.itemsize
    return as_strided(flat, shape=(rows, width), strides=((row_words + shift_words) * item, item))


def encode(data_shards: Sequence[_Buffer], m: int) -> list[np.ndarray]:
    """The m parity shards (uint8 arrays) of k equal data shards.

    Every data shard must have the same length, a positive multiple of 8 bytes; parity i comes
    out `parity_len(i, k, shard_len)` bytes long. Raises `ShardLengthError` otherwise.
    """
    k = len(data_shards)
    _check_km(k, m)
    shard_len = _nbytes(data_shards[0])
    u = symbol_size_for(shard_len)
    data = [_words(d, shard_len, j) for j, d in enumerate(data_shards)]
    return [p.view(np.uint8) for p in _encode_words(data, m, shard_len // 8, u // 8)]


def _parity_row_words(k: int, m: int, width: int, w: int) -> int:
    """Words between the starts of two parity rows in `_encode_words`' output buffer.

    Long enough for the longest parity (i = m-1), rounded up to whole pages so that, in a
    page-aligned buffer, every parity starts on a page: node writes can then hand the parity
    to the disk as it is (O_DIRECT, see `storage.nodes`) instead of through a bounce copy.
    """
    words = width + (m - 1) * (k - 1) * w
    return -(-words // _PAGE_WORDS) * _PAGE_WORDS


def _encode_words(
    data: Sequence[np.ndarray], m: int, width: int, w: int, out: np.ndarray | None = None
) -> list[np.ndarray]:
    """Parity rows (uint64) of k data rows of `width` words, with `w` words per symbol.

    `out`, if given, is a uint64 buffer of at least m * `_parity_row_words(...)` words that the
    parities are written into (and returned as views of); else a fresh one is allocated.
    """
    k = len(data)
    if m == 0:
        return []
    # Parity i lives at flat[i*row_words:].
    row_words = _parity_row_words(k, m, width, w)
    if out is None:
        flat = np.empty(m * row_words, dtype=np.uint64)
    elif out.size < m * row_words:
        raise ValueError(f"the parity buffer holds {out.size} words, {m * row_words} needed")
    else:
        flat = out
    # Shard 0 has shift 0 in every parity: copying it initialises [0, width) of every row; the
    # tails beyond it start at zero. Only then are the shifted shards added, block by block.
    _shifted_rows(flat, row_words, m, 0, width)[...] = data[0]
    for i in range(1, m):
        flat[i * row_words + width : i * row_words + width + i * (k - 1) * w] = 0
    for lo in range(0, width, _BLOCK_WORDS):
        hi = min(width, lo + _BLOCK_WORDS)
        for j in range(1, k):
            _shifted_rows(flat, row_words, m, j * w, width)[:, lo:hi] ^= data[j][lo:hi]
    return [flat[i * row_words : i * row_words + width + i * (k - 1) * w] for i in range(m)]


def decode(shards: Sequence[_Buffer | None], k: int, m: int, shard_len: int) -> list[np.ndarray]:
    """The k data shards (uint8 arrays) of a stripe from any k of its k+m shards.

    `shards` lists data shards 0..k-1 then parity shards 0..m-1, None where a shard is missing
    (or failed its hash check). Data shards are `shard_len` bytes, parity i is
    `parity_len(i, k, shard_len)`. Surviving data shards are returned as views of the input, not
    copies. Raises `TooFewShardsError` when more than m shards are missing and
    `ShardLengthError` when a shard has the wrong length. The input is not modified.
    """
    data, rebuilt = _decode_shards(shards, k, m, shard_len)
    return [(rebuilt[j] if d is None else d).view(np.uint8) for j, d in enumerate(data)]


def _decode_shards(
    shards: Sequence[_Buffer | None], k: int, m: int, shard_len: int, *, scratch: bool = False
) -> tuple[list[np.ndarray | None], dict[int, np.ndarray]]:
    """Check the shards and rebuild the lost data ones: (data word views, {index: words}).

    With `scratch` the rebuilt shards live in this thread's scratch buffer and are only valid
    until the thread decodes again.
    """
    _check_km(k, m)
    if len(shards) != k + m:
        raise ValueError(f"expected {k + m} shards (None for missing ones), got {len(shards)}")
    u = symbol_size_for(shard_len)
    missing = [i for i, s in enumerate(shards) if s is None]
    if len(missing) > m:
        raise TooFewShardsError(k, m, missing)
    data = [None if s is None else _words(s, shard_len, j) for j, s in enumerate(shards[:k])]
    parity = [
        None if s is None else _words(s, parity_len(i, k, shard_len), k + i)
        for i, s in enumerate(shards[k:])
    ]
    return data, _rebuild(data, parity, shard_len // 8, u // 8, "rebuilt" if scratch else None)


def _rebuild(
    data: Sequence[np.ndarray | None],
    parity: Sequence[np.ndarray | None],
    width: int,
    w: int,
    slot: str | None,
) -> dict[int, np.ndarray]:
    """The lost data shards ({index: uint64 words}) from the surviving data and parity rows.

    The result is written to fresh arrays, or to this thread's scratch `slot` when given.
    """
    lost = tuple(j for j, shard in enumerate(data) if shard is None)
    if not lost:
        return {}
    # Any len(lost) surviving parities work; the lowest ones are the shortest.
    chosen = dict([(i, p) for i, p in enumerate(parity) if p is not None][: len(lost)])
    rows = tuple(chosen)
    if len(lost) == 1:
        out = _words_buffer(width, slot)
        _rebuild_one(data, chosen[rows[0]], rows[0], lost[0], out, w)
        return {lost[0]: out}
    flat, row_words = _syndromes(data, chosen, width, w)
    if len(lost) == 2:
        return _rebuild_two(flat, row_words, rows, lost, width, w, slot)
    return _peel(flat, row_words, rows, lost, width, w, slot)


def _rebuild_one(
    data: Sequence[np.ndarray | None], parity: np.ndarray, q: int, c: int, out: np.ndarray, w: int
) -> None:
    """One lost shard c into `out` from parity q: its window minus the other shards there."""
    width = out.size
    out[...] = parity[q * c * w : q * c * w + width]
    for j, shard in enumerate(data):
        if shard is None:
            continue
        # Shard j lands at q*j*w in parity q, that is `offset` words into shard c's window.
        offset = q * (j - c) * w
        if 0 <= offset < width:
            out[offset:] ^= shard[: width - offset]
        elif -width < offset < 0:
            out[:offset] ^= shard[-offset:]


def _syndromes(
    data: Sequence[np.ndarray | None], chosen: dict[int, np.ndarray], width: int, w: int
) -> tuple[np.ndarray, int]:
    """The chosen parities ({row: words}, ascending) minus every surviving shard, shifted.

    Row b of the buffer (at b*row_words) holds parity rows[0]+b over its length; rows between
    chosen parities, and words past a parity's end, are scratch the strided XORs may write to.
    Returns (buffer, row_words).
    """
    k = len(data)
    rows = tuple(chosen)
    low, high = rows[0], rows[-1]
    row_words = width + high * (k - 1) * w
    flat = _words_buffer((high - low + 1) * row_words, "syndromes")  # never leaves the module
    for p, words in chosen.items():
        start = (p - low) * row_words
        flat[start : start + width + p * (k - 1) * w] = words
    known = [
        (_lands(flat, row_words, rows, j, width, w), shard)
        for j, shard in enumerate(data)
        if shard is not None
    ]
    for lo in range(0, width, _BLOCK_WORDS):
        hi = min(width, lo + _BLOCK_WORDS)
        for view, shard in known:
            view[:, lo:hi] ^= shard[lo:hi]
    return flat, row_words


def _lands(
    flat: np.ndarray, row_words: int, rows: tuple[int, ...], c: int, width: int, w: int
) -> np.ndarray:
    """Where shard c sits in the syndrome rows rows[0]..rows[-1]: row b at (rows[0]+b)*c*w."""
    low = rows[0]
    return _shifted_rows(flat[low * c * w :], row_words, rows[-1] - low + 1, c * w, width)


def _rebuild_two(
    flat: np.ndarray,
    row_words: int,
    rows: tuple[int, ...],
    lost: tuple[int, ...],
    width: int,
    w: int,
    slot: str | None,
) -> dict[int, np.ndarray]:
    """Two lost shards c1 < c2 from syndrome rows qa < qb: peeling with the rows combined.

    As polynomials in the symbol shift z, Sa = z^(qa*c1) x1 + z^(qa*c2) x2 and
    Sb = z^(qb*c1) x1 + z^(qb*c2) x2. Adding z^((qb-qa)*c2) Sa to Sb cancels x2 and leaves
    z^(qb*c1) (1 + z^D) x1 with D = (qb-qa)*(c2-c1) >= 1: the recurrence x1[t] = U[t] ^ x1[t-D],
    the zigzag of peeling, solved D symbols (one numpy XOR) at a time. Then x2 peels off row qa
    in one pass, x1 being known.
    """
    qa, qb = rows
    c1, c2 = lost
    sa = flat[:row_words]
    sb = flat[(qb - qa) * row_words :]
    n = width // w
    step = (qb - qa) * (c2 - c1)
    blocks = -(-n // step)
    result = _words_buffer(2 * blocks * step * w, slot).reshape(2, -1)
    u = result[0]
    # U[t] = Sb[t + qb*c1] ^ Sa[t + qb*c1 - (qb-qa)*c2], Sa being zero before its start; the
    # Sa window never runs past Sa's end (qb*c1 - (qb-qa)*c2 <= qa*c2 <= qa*(k-1)).
    u[:width] = sb[qb * c1 * w : qb * c1 * w + width]
    u[width:] = 0
    shift = (qb * c1 - (qb - qa) * c2) * w
    start = max(0, -shift)
    if start < width:
        u[start:width] ^= sa[start + shift : width + shift]
    chunks = u.reshape(blocks, step * w)
    xor = np.bitwise_xor
    for i in range(1, blocks):
        xor(chunks[i], chunks[i - 1], out=chunks[i])
    x1 = u[:width]
    # x2[t] = Sa[t + qa*c2] ^ x1[t + qa*(c2-c1)], x1 being zero past its end.
    x2 = result[1, :width]
    x2[...] = sa[qa * c2 * w : qa * c2 * w + width]
    lead = qa * (c2 - c1) * w
    if lead < width:
        x2[: width - lead] ^= x1[lead:]
    return {c1: x1, c2: x2}


def _peel(
    flat: np.ndarray,
    row_words: int,
    rows: tuple[int, ...],
    lost: tuple[int, ...],
    width: int,
    w: int,
    slot: str | None,
) -> dict[int, np.ndarray]:
    """Any number of lost shards by zigzag peeling, run by run, in `_schedule`'s order."""
    r = len(lost)
    low = rows[0]
    result = _words_buffer(r * width, slot).reshape(r, width)

    def lands(q: int, c: int) -> np.ndarray:  # shard c's window in syndrome row q
        start = (q - low) * row_words + q * c * w
        return flat[start : start + width]

    sources, targets = [], []
    for a, c in enumerate(lost):
        own = rows[r - 1 - a]  # the pairing of the module docstring's proof
        sources.append(lands(own, c))
        targets.append([lands(q, c) for q in rows if q != own])
    # Plain 1-D calls: in measurements they beat one broadcast XOR over a strided view.
    xor, copyto = np.bitwise_xor, np.copyto
    for a, lo, hi in _schedule(rows, lost, width // w, w):
        run = result[a, lo:hi]
        copyto(run, sources[a][lo:hi])
        for target in targets[a]:  # subtract the solved run from the other rows
            segment = target[lo:hi]
            xor(segment, run, out=segment)
    return {c: result[a] for a, c in enumerate(lost)}


@functools.lru_cache(maxsize=512)
def _schedule(
    rows: tuple[int, ...], lost: tuple[int, ...], n: int, w: int
) -> tuple[tuple[int, int, int], ...]:
    """The peeling order for one loss pattern: steps (a, first word, end word).

    Step (a, lo, hi) solves words lo..hi-1 (whole symbols of `w` words) of the a-th lost shard
    from its paired row, where no other unsolved symbol lands any more. `rows` are the parities
    used and `lost` the lost data shards, both ascending; `n` is symbols per shard. Terminates
    by the module docstring's proof.
    """
    r = len(lost)
    pair = [rows[r - 1 - a] for a in range(r)]
    done = [0] * r
    steps = []
    while True:
        progressed = False
        for a in range(r):
            if done[a] == n:
                continue
            q = pair[a]
            at = done[a] + q * lost[a]  # position of its next symbol in row q
            run = n - done[a]
            for b in range(r):
                if b == a or done[b] == n:
                    continue
                # Shard b's unsolved symbols occupy [done[b] + q*c_b, n + q*c_b) of row q.
                if n + q * lost[b] <= at:
                    continue
                run = min(run, done[b] + q * lost[b] - at)
                if run <= 0:
                    break
            if run > 0:
                steps.append((a, done[a] * w, (done[a] + run) * w))
                done[a] += run
                progressed = True
        if all(t == n for t in done):
            return tuple(steps)
        if not progressed:  # impossible for the i*j shifts; a guard against editing them
            raise AssertionError(f"zigzag peeling stalled for rows {rows}, lost {lost}")


class ZigzagCode:
    """A (k, m) zigzag code over whole stripes of bytes: any k of the k+m shards rebuild one.

    `encode_stripe` pads a stripe to k equal shards and returns the k data shards then the m
    parity shards; the caller keeps the stripe's length and hands it back to `decode_stripe`.
    `stripe_size` is the recommended number of bytes per stripe (k shards of
    `DEFAULT_SHARD_SYMBOLS` symbols of 4 KiB), at which the storage overhead is within 1 % of
    the MDS ideal (k+m)/k; any length works.
    """

    def __init__(self, k: int = 4, m: int = 2) -> None:
        _check_km(k, m)
        self.k = k
        self.m = m
        self.stripe_size = k * DEFAULT_SHARD_SYMBOLS * MAX_SYMBOL_SIZE

    def __repr__(self) -> str:
        return f"ZigzagCode(k={self.k}, m={self.m})"

    def shard_lengths(self, length: int) -> list[int]:
        """Lengths of the k data and m parity shards of a stripe of `length` bytes."""
        shard_len = shard_len_for(length, self.k)
        return [shard_len] * self.k + [parity_len(i, self.k, shard_len) for i in range(self.m)]

    def stored_size(self, length: int) -> int:
        """Bytes stored over all k+m shards for a stripe of `length` bytes."""
        return sum(self.shard_lengths(length))

    @property
    def ideal_overhead(self) -> float:
        """The storage ratio of an MDS code with these parameters: (k+m)/k."""
        return (self.k + self.m) / self.k

    def overhead(self, length: int | None = None) -> float:
        """Stored bytes per stripe byte for a stripe of `length` (default `stripe_size`)."""
        length = self.stripe_size if length is None else length
        return self.stored_size(length) / max(1, length)

    def parity_buffer_size(self, length: int) -> int:
        """Bytes of the `parity_out` buffer `encode_stripe` needs for a stripe of `length`.

        A shorter stripe can need more when its symbols are larger (k and m far beyond the
        defaults): a caller reusing one buffer checks each stripe.
        """
        shard_len = shard_len_for(length, self.k)
        w = symbol_size_for(shard_len) // 8
        return self.m * _parity_row_words(self.k, self.m, shard_len // 8, w) * 8

    def encode_stripe(
        self,
        data: bytes | bytearray | memoryview,
        *,
        parity_out: bytearray | memoryview | None = None,
    ) -> list[memoryview]:
        """The k data shards and then the m parity shards of `data`, as read-only buffers.

        Shard lengths are `shard_lengths(len(data))`; the last data shards are zero-padded.
        Whole data shards are views of `data` itself, not copies (like zfec's primary blocks):
        do not modify `data` while the shards are in use, or copy them with bytes().

        `parity_out` (writable, at least `parity_buffer_size(len(data))` bytes, 8-byte aligned)
        receives the parities, which are then views of it: a caller encoding stripe after
        stripe reuses one buffer instead of faulting in fresh pages for each (on virtual
        machines that cost as much as the encoding). Page-aligned, it gives page-aligned
        parities.
        """
        view = memoryview(data).cast("B")
        length = len(view)
        shard_len = shard_len_for(length, self.k)
        width = shard_len // 8
        words: list[np.ndarray] = []
        for j in range(self.k):
            start = j * shard_len
            if start + shard_len <= length:
                words.append(np.frombuffer(view, np.uint64, count=width, offset=start))
            else:
                padded = np.zeros(shard_len, dtype=np.uint8)
                if start < length:
                    padded[: length - start] = view[start:length]
                words.append(padded.view(np.uint64))
        out = None if parity_out is None else np.frombuffer(parity_out, np.uint64)
        parities = _encode_words(words, self.m, width, symbol_size_for(shard_len) // 8, out)
        # The ignore: numpy's stubs give ndarray a __buffer__ only on Python 3.12 and later.
        return [memoryview(a).cast("B").toreadonly() for a in [*words, *parities]]  # type: ignore[arg-type]

    def decode_stripe(self, shards: Sequence[_Buffer | None], length: int) -> bytearray:
        """The original `length` bytes from k+m shards, None where one is missing or corrupt.

        A fresh bytearray, so the caller may decrypt it in place.

        Raises `TooFewShardsError` when more than m are None and `ShardLengthError` when a
        shard does not have the length `shard_lengths(length)` gives; nothing is returned
        unless every lost data shard was rebuilt.
        """
        shard_len = shard_len_for(length, self.k)
        data, rebuilt = _decode_shards(shards, self.k, self.m, shard_len, scratch=True)
        parts = []
        for j, shard in enumerate(data):
            take = min(shard_len, length - j * shard_len)
            if take <= 0:
                break
            words = rebuilt[j] if shard is None else shard
            # The ignore: numpy's stubs give ndarray a __buffer__ only on Python 3.12 and later.
            parts.append(memoryview(words).cast("B")[:take])  # type: ignore[arg-type]
        return bytearray().join(parts)  # the one copy of the stripe's bytes


# --- Reference implementation -------------------------------------------------------------------
# Byte by byte in plain Python, written straight from the definition; slow, for tests only.


def _reference_encode(data_shards: Sequence[bytes], m: int) -> list[bytes]:
    """Parity shards by the definition: parity i = XOR over j of shard j shifted i*j symbols."""
    k = len(data_shards)
    shard_len = len(data_shards[0])
    u = symbol_size_for(shard_len)
    parities = []
    for i in range(m):
        parity = bytearray(shard_len + i * (k - 1) * u)
        for j, shard in enumerate(data_shards):
            offset = i * j * u
            for t in range(shard_len):
                parity[offset + t] ^= shard[t]
        parities.append(bytes(parity))
    return parities


def _reference_decode(
    shards: Sequence[bytes | None], k: int, m: int, shard_len: int
) -> list[bytes]:
    """Generic peeling over byte equations, with every surviving parity and no schedule.

    Each parity byte is an equation over the data bytes that land on it; known bytes are folded
    in, and any equation left with one unknown byte solves it, until none is unknown.
    """
    missing = [i for i, s in enumerate(shards) if s is None]
    if len(missing) > m:
        raise TooFewShardsError(k, m, missing)
    u = symbol_size_for(shard_len)
    data = {j: bytes(s) for j, s in enumerate(shards[:k]) if s is not None}
    lost = [j for j in range(k) if j not in data]
    solved = {j: bytearray(shard_len) for j in lost}
    equations: list[tuple[list[int], set[tuple[int, int]]]] = []  # ([value], unknown bytes)
    uses: dict[tuple[int, int], list[int]] = {}
    for i, parity in enumerate(shards[k:]):
        if parity is None:
            continue
        for pos, value in enumerate(parity):
            unknown = set()
            for j in range(k):
                t = pos - i * j * u
                if 0 <= t < shard_len:
                    if j in data:
                        value ^= data[j][t]
                    else:
                        unknown.add((j, t))
            if unknown:
                for var in unknown:
                    uses.setdefault(var, []).append(len(equations))
                equations.append(([value], unknown))
    ready = [e for e, (_, unknown) in enumerate(equations) if len(unknown) == 1]
    remaining = len(lost) * shard_len
    while ready:
        cell, unknown = equations[ready.pop()]
        if len(unknown) != 1:
            continue  # solved meanwhile through another equation
        var = unknown.pop()
        solved[var[0]][var[1]] = cell[0]
        remaining -= 1
        for e in uses[var]:
            other_cell, other_unknown = equations[e]
            if var in other_unknown:
                other_unknown.discard(var)
                other_cell[0] ^= cell[0]
                if len(other_unknown) == 1:
                    ready.append(e)
    if remaining:
        raise ZigzagError(f"reference peeling stalled with {remaining} unknown bytes")
    return [data[j] if j in data else bytes(solved[j]) for j in range(k)]

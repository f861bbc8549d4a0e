"""Storage codec benchmark: the Zigzag code against zfec, and the CID against plain SHA-256.

Issue 5 ("make bench") asks for, on the same random data in one run:

* Zigzag encode and decode (m data shards lost) in MiB/s beside zfec's (Reed-Solomon in C) for
  (4, 2) and (10, 4) at the default stripe size, with the ratio (goals: encode >= 3x, decode
  >= 2x);
* the storage overhead beside the MDS ideal (k+m)/k (goal: within 1 %);
* the CID's MiB/s beside plain hashlib SHA-256 over the same bytes.

Both codecs do the same job: stripe bytes in, k+m shard buffers out (both split the stripe
without copying: zfec's primary blocks are memoryviews of it, as are ours); k shards in, the
stripe's bytes out. MiB/s counts stripe bytes. Each figure is the median of interleaved runs,
because the machines are shared and noisy. No Django: `python bench/storage_codec.py`.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import zfec

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere, without installing the project
    sys.path.insert(0, str(ROOT))

from storage.cid import CidBuilder  # noqa: E402 - needs the path set above
from storage.zigzag import ZigzagCode  # noqa: E402

CODES = [(4, 2), (10, 4)]
REPEATS = int(os.environ.get("BENCH_STORAGE_REPEATS", "9"))
CID_BYTES = 64 << 20
MIB = 1 << 20


def _medians(*functions: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    """Median seconds of each function, run interleaved so noise hits them alike."""
    for f in functions:
        f()  # warm-up: caches, allocator, lazily built tables
    times: list[list[float]] = [[] for _ in functions]
    for _ in range(repeats):
        for f, runs in zip(functions, times, strict=True):
            start = time.perf_counter()
            f()
            runs.append(time.perf_counter() - start)
    return [statistics.median(runs) for runs in times]


def _zigzag_figures(data: bytes, k: int, m: int) -> list[str]:
    code = ZigzagCode(k, m)
    size = code.stripe_size
    stripe = memoryview(data)[:size]
    shard = size // k
    label = f"k={k} m={m} stripe={size / MIB:.1f}MiB"

    # The same m data shards are lost for both codecs: shards 0..m-1.
    shards = [bytes(s) for s in code.encode_stripe(stripe)]
    ours_lost: list[bytes | None] = [None] * m + shards[m:]
    blocks = [stripe[j * shard : (j + 1) * shard] for j in range(k)]
    encoder, decoder = zfec.Encoder(k, k + m), zfec.Decoder(k, k + m)
    zfec_shards = encoder.encode(blocks)
    zfec_nums = list(range(m, k + m))
    zfec_kept = [zfec_shards[i] for i in zfec_nums]

    def zfec_decode() -> bytes:
        return b"".join(decoder.decode(zfec_kept, zfec_nums))

    if code.decode_stripe(ours_lost, size) != stripe or zfec_decode() != stripe:
        raise AssertionError(f"{label}: a decoder returned wrong bytes")

    ours_enc, zfec_enc = _medians(
        lambda: code.encode_stripe(stripe),
        lambda: encoder.encode([stripe[j * shard : (j + 1) * shard] for j in range(k)]),
    )
    ours_dec, zfec_dec = _medians(lambda: code.decode_stripe(ours_lost, size), zfec_decode)
    mib = size / MIB
    overhead = code.overhead()
    ideal = code.ideal_overhead
    return [
        f"storage.zigzag.encode {label} : {mib / ours_enc:.1f} MiB/s "
        f"(zfec {mib / zfec_enc:.1f} MiB/s, ratio {zfec_enc / ours_enc:.2f})",
        f"storage.zigzag.decode {label} lost={m} data shards : {mib / ours_dec:.1f} MiB/s "
        f"(zfec {mib / zfec_dec:.1f} MiB/s, ratio {zfec_dec / ours_dec:.2f})",
        f"storage.zigzag.overhead {label} : {overhead:.5f} stored bytes per byte "
        f"(MDS ideal {ideal:.5f}, {100 * (overhead / ideal - 1):+.2f} %)",
    ]


def _cid_figure(data: bytes) -> str:
    def cid() -> str:
        builder = CidBuilder()
        view = memoryview(data)
        for start in range(0, len(view), MIB):  # as a stream arrives: 1 MiB reads
            builder.update(view[start : start + MIB])
        return builder.finalize()

    ours, plain = _medians(cid, lambda: hashlib.sha256(data).digest(), repeats=5)
    mib = len(data) / MIB
    return (
        f"storage.cid size={mib:.0f}MiB : {mib / ours:.1f} MiB/s "
        f"(hashlib sha256 {mib / plain:.1f} MiB/s, ratio {plain / ours:.2f})"
    )


def run() -> list[str]:
    """Measure every figure and return the lines, without printing."""
    largest = max(ZigzagCode(k, m).stripe_size for k, m in CODES)
    data = np.random.default_rng(2024).bytes(max(largest, CID_BYTES))  # one buffer for all
    lines = []
    for k, m in CODES:
        lines += _zigzag_figures(data, k, m)
    lines.append(_cid_figure(data[:CID_BYTES]))
    return lines


def main() -> None:
    """Print one line per figure, with its unit and the ratio to its reference."""
    for line in run():
        print(line, flush=True)


if __name__ == "__main__":
    main()

"""storage.zigzag: any k of k+m shards rebuild a stripe, more losses fail cleanly.

The fast numpy path is checked against the plain-Python reference (`_reference_encode`, and the
generic byte-peeling `_reference_decode`) on the same inputs, over every loss pattern for the
three codes the issue names, on lengths that are a multiple of nothing in particular.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import zigzag
from storage.zigzag import (
    DEFAULT_SHARD_SYMBOLS,
    MAX_SYMBOL_SIZE,
    ShardLengthError,
    TooFewShardsError,
    ZigzagCode,
    decode,
    encode,
    parity_len,
    shard_len_for,
    symbol_size_for,
)

CODES = [(4, 2), (6, 3), (10, 4)]


def stripe(length: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(length)


def lose(shards: Sequence[object], lost: Sequence[int]) -> list:
    return [None if i in lost else s for i, s in enumerate(shards)]


def odd_length(k: int, symbols: int) -> int:
    """A stripe length that is no multiple of k or 8, giving shards of `symbols` 8-byte words."""
    return k * 8 * symbols - 5


@pytest.mark.parametrize(("k", "m"), CODES)
def test_every_pattern_of_up_to_m_lost_shards_decodes(k: int, m: int) -> None:
    code = ZigzagCode(k, m)
    length = odd_length(k, 41)
    data = stripe(length, k)
    shards = code.encode_stripe(data)
    patterns = 0
    for r in range(m + 1):
        for lost in itertools.combinations(range(k + m), r):
            assert code.decode_stripe(lose(shards, lost), length) == data, lost
            patterns += 1
    assert patterns == sum(len(list(itertools.combinations(range(k + m), r))) for r in range(m + 1))


@pytest.mark.parametrize(("k", "m"), CODES)
def test_every_pattern_of_m_plus_one_lost_shards_fails_cleanly(k: int, m: int) -> None:
    code = ZigzagCode(k, m)
    length = odd_length(k, 9)
    shards = code.encode_stripe(stripe(length, 1))
    for lost in itertools.combinations(range(k + m), m + 1):
        with pytest.raises(TooFewShardsError) as caught:
            code.decode_stripe(lose(shards, lost), length)
        assert caught.value.missing == lost
        assert (caught.value.k, caught.value.m) == (k, m)
        assert f"{m + 1} of its {k + m} shards are missing" in str(caught.value)
        assert f"needs any {k} shards and {k - 1} are left" in str(caught.value)


@pytest.mark.parametrize(("k", "m"), CODES)
def test_default_stripe_decodes_with_m_shards_lost(k: int, m: int) -> None:
    # Full-size symbols (4 KiB) take the same paths with 512-word runs; a sample of patterns
    # with m data shards lost, and mixed data and parity losses.
    code = ZigzagCode(k, m)
    data = stripe(code.stripe_size, 7)
    shards = code.encode_stripe(data)
    assert symbol_size_for(len(shards[0])) == MAX_SYMBOL_SIZE
    rng = random.Random(k)
    patterns = {tuple(range(m)), tuple(range(k - m, k))}  # adjacent: the longest peeling
    patterns |= {tuple(sorted(rng.sample(range(k), m))) for _ in range(3)}
    patterns |= {tuple(sorted(rng.sample(range(k + m), m))) for _ in range(3)}
    for lost in sorted(patterns):
        assert code.decode_stripe(lose(shards, lost), len(data)) == data, lost


@settings(max_examples=80, deadline=None)
@given(
    params=st.sampled_from(CODES),
    length=st.integers(0, 120_000),
    seed=st.integers(0, 2**32),
    choice=st.data(),
)
def test_random_lengths_and_losses_round_trip(
    params: tuple[int, int], length: int, seed: int, choice: st.DataObject
) -> None:
    k, m = params
    code = ZigzagCode(k, m)
    data = stripe(length, seed)
    shards = code.encode_stripe(data)
    assert [len(s) for s in shards] == code.shard_lengths(length)
    lost = choice.draw(st.sets(st.integers(0, k + m - 1), max_size=m), label="lost")
    assert code.decode_stripe(lose(shards, sorted(lost)), length) == data
    too_many = choice.draw(st.sets(st.integers(0, k + m - 1), min_size=m + 1), label="too many")
    with pytest.raises(TooFewShardsError):
        code.decode_stripe(lose(shards, sorted(too_many)), length)


@settings(max_examples=60, deadline=None)
@given(
    params=st.sampled_from(CODES),
    length=st.integers(0, 1500),
    seed=st.integers(0, 2**32),
    choice=st.data(),
)
def test_fast_path_agrees_with_reference(
    params: tuple[int, int], length: int, seed: int, choice: st.DataObject
) -> None:
    k, m = params
    code = ZigzagCode(k, m)
    shards = [bytes(s) for s in code.encode_stripe(stripe(length, seed))]
    assert shards[k:] == zigzag._reference_encode(shards[:k], m)
    lost = sorted(choice.draw(st.sets(st.integers(0, k + m - 1), max_size=m), label="lost"))
    shard_len = len(shards[0])
    fast = [bytes(d) for d in decode(lose(shards, lost), k, m, shard_len)]
    assert fast == zigzag._reference_decode(lose(shards, lost), k, m, shard_len) == shards[:k]


def test_reference_decoder_refuses_too_many_losses() -> None:
    shards = [bytes(s) for s in ZigzagCode(4, 2).encode_stripe(b"x" * 100)]
    with pytest.raises(TooFewShardsError):
        zigzag._reference_decode(lose(shards, [0, 1, 4]), 4, 2, len(shards[0]))


def test_the_construction() -> None:
    # Parity i is the XOR of data shard j shifted by i*j symbols (module docstring).
    k, m, u = 5, 3, 8
    rng = np.random.default_rng(3)
    data = [rng.integers(0, 256, size=40, dtype=np.uint8) for _ in range(k)]
    parities = encode(data, m)
    for i, parity in enumerate(parities):
        assert len(parity) == 40 + i * (k - 1) * u == parity_len(i, k, 40)
        expected = np.zeros(len(parity), dtype=np.uint8)
        for j, shard in enumerate(data):
            expected[i * j * u : i * j * u + 40] ^= shard
        assert np.array_equal(parity, expected)
    assert np.array_equal(parities[0], np.bitwise_xor.reduce(data))  # RAID 5 row


@pytest.mark.parametrize(("k", "m"), CODES)
def test_peeling_schedule_never_stalls(k: int, m: int) -> None:
    # The decodability proof, exercised: every choice of r parity rows for every r lost data
    # shards, down to shards of one symbol (shorter than the shifts).
    for n in (1, 2, 3, 7):
        for r in range(1, m + 1):
            for lost in itertools.combinations(range(k), r):
                for rows in itertools.combinations(range(m), r):
                    steps = zigzag._schedule(rows, lost, n, 1)
                    solved = [0] * r
                    for a, lo, hi in steps:
                        assert lo == solved[a] < hi
                        solved[a] = hi
                    assert solved == [n] * r


def test_overhead_at_the_default_stripe_is_within_one_percent_of_mds() -> None:
    for k, m in CODES:
        code = ZigzagCode(k, m)
        assert code.stripe_size == k * DEFAULT_SHARD_SYMBOLS * MAX_SYMBOL_SIZE
        padding = (k - 1) * m * (m - 1) // 2 * MAX_SYMBOL_SIZE
        assert code.stored_size(code.stripe_size) == (k + m) * code.stripe_size // k + padding
        assert code.overhead() / code.ideal_overhead - 1 < 0.01
        assert code.overhead() - code.ideal_overhead < 0.01


def test_symbol_and_shard_sizes() -> None:
    assert symbol_size_for(DEFAULT_SHARD_SYMBOLS * 4096) == 4096
    assert symbol_size_for(DEFAULT_SHARD_SYMBOLS * 4096 - 8) == 8  # divisible by 8 only
    assert shard_len_for(0, 4) == 8
    for length in [0, 1, 999, 10**5, 3 * 10**6 + 1, 25 * 2**20]:
        for k in (4, 6, 10):
            shard_len = shard_len_for(length, k)
            u = symbol_size_for(shard_len)
            assert k * shard_len >= length
            assert shard_len % u == 0
            # Shards never carry needlessly small symbols: fewer than 2*640+1 of them.
            assert u == MAX_SYMBOL_SIZE or shard_len // u <= 2 * DEFAULT_SHARD_SYMBOLS
    with pytest.raises(ShardLengthError):
        symbol_size_for(12)


def test_wrong_shard_lengths_are_refused() -> None:
    code = ZigzagCode(4, 2)
    data = stripe(1000, 2)
    shards = [bytes(s) for s in code.encode_stripe(data)]
    for index in (0, 5):
        bad = list(shards)
        bad[index] = bad[index][:-8]
        with pytest.raises(ShardLengthError, match=f"shard {index} is"):
            code.decode_stripe(bad, len(data))
    with pytest.raises(ShardLengthError):
        code.decode_stripe(shards, len(data) + 1000)  # lengths of another stripe size
    with pytest.raises(ValueError, match="expected 6 shards"):
        code.decode_stripe(shards[:5], len(data))
    with pytest.raises(ShardLengthError):
        encode([b"12345678", b"1234567812345678"], 2)


def test_inputs_are_not_modified_and_outputs_do_not_alias_scratch() -> None:
    code = ZigzagCode(6, 3)
    first, second = stripe(50_000, 4), stripe(50_000, 5)
    shards = [bytearray(s) for s in code.encode_stripe(first)]
    before = [bytes(s) for s in shards]
    out_first = code.decode_stripe(lose(shards, [0, 2, 4]), len(first))
    out_second = code.decode_stripe(lose(list(code.encode_stripe(second)), [1, 2, 3]), len(second))
    assert [bytes(s) for s in shards] == before
    assert out_first == first and out_second == second  # scratch reuse did not clobber it


def test_encode_stripe_shards_are_read_only_views() -> None:
    data = stripe(ZigzagCode(4, 2).stripe_size, 6)
    shards = ZigzagCode(4, 2).encode_stripe(data)
    assert all(isinstance(s, memoryview) and s.readonly for s in shards)
    assert bytes(shards[0]) == data[: len(shards[0])]


def test_module_level_decode_returns_data_shards() -> None:
    k, m = 10, 4
    rng = np.random.default_rng(8)
    data = [rng.integers(0, 256, size=4096, dtype=np.uint8) for _ in range(k)]
    parities = encode(data, m)
    shards: list = [*data, *parities]
    out = decode(lose(shards, [1, 3, 5, 10]), k, m, 4096)
    assert all(np.array_equal(a, b) for a, b in zip(out, data, strict=True))


def test_threads_decode_concurrently() -> None:
    # Scratch buffers are per thread: two threads decoding at once must not share them.
    code = ZigzagCode(10, 4)
    stripes = [stripe(300_000, seed) for seed in range(8)]
    encoded = [code.encode_stripe(s) for s in stripes]

    def work(i: int) -> bool:
        lost = [i % 10, (i + 3) % 10, (i + 5) % 10, 13]
        return code.decode_stripe(lose(encoded[i], lost), len(stripes[i])) == stripes[i]

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert all(pool.map(work, range(8)))


@pytest.mark.parametrize("length", [1, 4096 * 4 + 5, 640 * 4096 * 4, 640 * 4096 * 4 - 8])
def test_parities_written_into_a_caller_buffer_are_the_same_and_page_aligned(length: int) -> None:
    import mmap

    code = ZigzagCode(4, 2)
    data = random.Random(length).randbytes(length)
    plain = [bytes(s) for s in code.encode_stripe(data)]
    out = memoryview(mmap.mmap(-1, code.parity_buffer_size(640 * 4096 * 4)))
    shards = code.encode_stripe(data, parity_out=out)
    assert [bytes(s) for s in shards] == plain
    base = np.frombuffer(out, np.uint8).ctypes.data
    for parity in shards[code.k :]:
        assert (np.frombuffer(parity, np.uint8).ctypes.data - base) % 4096 == 0


def test_a_parity_buffer_too_small_is_refused() -> None:
    code = ZigzagCode(4, 2)
    with pytest.raises(ValueError, match="parity buffer"):
        code.encode_stripe(bytes(1 << 16), parity_out=bytearray(4096))

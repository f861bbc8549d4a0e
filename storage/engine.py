"""Storing and reading one object over nodes: the streaming pipeline, with no Django in it.

`write_object` reads a stream stripe by stripe and, for each stripe, encrypts it (AES-256-GCM,
`storage.crypto`), cuts it into k data and m parity shards (`storage.zigzag`), hashes every
shard (SHA-256) and writes each shard of the stripe to a different node. The plaintext's CID
(`storage.cid`) is computed on the way in. `ObjectReader` does the reverse: it reads any k
shards of each stripe whose hashes check, decodes, verifies the GCM tag and hands out only
verified plaintext.

Both work in bounded memory whatever the object size: a few stripes are in flight at a time
(`window` for puts, `prefetch` for reads), each held as one buffer that is encrypted or
decrypted in place, plus its parity. The work runs on threads, which pays on a multi-core
machine because hashlib, the AES implementations, numpy and file writes release the GIL on
large buffers. A put is a pipeline of three stages over neighbouring stripes: the calling
thread reads stripe i+2 and feeds the CID while the compute pool encrypts and encodes stripe
i+1 and the write pool hashes and writes the shards of stripe i. Measured on 2 cores, a put
costs about 3.5 ms of CPU per MiB, two thirds of it SHA-256 (the CID over the plaintext and
the shard hashes over 1.5 times as many bytes), so the pipeline's job is to keep both cores
on it; buffers are reused from stripe to stripe and shards go to the disk without passing
through the page cache (`storage.nodes`), which measured as the costliest stage before.

The caller (`storage.services`) keeps the database side: which nodes exist, where each shard
went, and what was found broken. This module reports that through return values and
callbacks; it never decides policy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import mmap
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from storage.cid import CidBuilder
from storage.crypto import TAG_SIZE, open_stripe, seal_stripe
from storage.nodes import NodeBackend, NodeError, NodeUnavailable, ShardMissing, shard_key
from storage.zigzag import ZigzagCode

__all__ = [
    "PUT_WINDOW",
    "WRITE_THREADS",
    "Manifest",
    "ObjectReader",
    "ShardInfo",
    "ShardProblem",
    "StripeInfo",
    "StripeUnreadable",
    "fetch_shards",
    "rebuild_stripe",
    "write_object",
]


@dataclass(slots=True)
class ShardInfo:
    index: int  # 0..k-1 data, k..k+m-1 parity
    node_id: int
    key: str
    sha256: bytes
    length: int
    # False when the shard is known to be bad: readers try it only when nothing else is left.
    usable: bool = True


@dataclass(slots=True)
class StripeInfo:
    index: int
    length: int  # bytes the code encoded: the stripe's ciphertext and GCM tag
    shards: list[ShardInfo]


@dataclass(slots=True)
class Manifest:
    """Everything needed to read an object back, except the data key."""

    object_id: uuid.UUID
    k: int
    m: int
    stripe_size: int
    size: int
    cid: str
    stripes: list[StripeInfo]

    @property
    def stored_size(self) -> int:
        return sum(s.length for stripe in self.stripes for s in stripe.shards)


@dataclass(frozen=True, slots=True)
class ShardProblem:
    """A shard found missing, corrupt, or on a node that could not be reached."""

    stripe: int
    shard: int
    node_id: int
    kind: str  # "missing" | "corrupt" | "unavailable"
    detail: str


class StripeUnreadable(Exception):
    """Fewer than k shards of a stripe could be read with good hashes."""

    def __init__(self, stripe: StripeInfo, k: int, good: int, problems: Sequence[ShardProblem]):
        self.stripe = stripe
        self.k = k
        self.good = good
        self.problems = list(problems)
        details = "; ".join(f"shard {p.shard} {p.kind}" for p in self.problems) or "no shards"
        super().__init__(
            f"stripe {stripe.index} has {good} readable shards of the {k} it needs ({details})"
        )


def _read_stripe(
    stream: object, plain_cap: int, free: list[memoryview], cid: CidBuilder
) -> tuple[memoryview, int]:
    """A buffer of plain_cap + TAG_SIZE bytes and how many of them `stream` filled.

    Fewer than plain_cap only at the stream's end. The tag's room is allocated up front so the
    stripe is encrypted where it was read, without another copy. Buffers of stripes already
    stored are reused (`free`): on virtual machines a fresh page costs a fault and zeroing,
    which measured as much as the encryption. New buffers are anonymous mmaps, so page-aligned:
    whole data shards are views of the buffer and go to the disk without a copy (O_DIRECT in
    `storage.nodes`).

    The bytes are fed to `cid` piece by piece as they arrive, while each piece is still in the
    CPU's cache: one pass over memory fewer than reading the whole stripe first.
    """
    view = free.pop() if free else _aligned(plain_cap + TAG_SIZE)
    got = 0
    readinto = getattr(stream, "readinto", None)
    while got < plain_cap:
        want = view[got : min(plain_cap, got + _READ_PIECE)]
        if readinto is not None:
            r = readinto(want)
        else:
            chunk = stream.read(len(want))  # type: ignore[attr-defined]
            r = len(chunk) if chunk else 0
            want[:r] = chunk if chunk else b""
        if not r:
            break
        cid.update(view[got : got + r])
        got += r
    return view, got


# Half the per-core L2 cache of current x86 server cores, and two CID chunks.
_READ_PIECE = 512 * 1024


def _aligned(size: int) -> memoryview:
    """`size` writable bytes, page-aligned (anonymous mmap), unmapped when the view is freed."""
    return memoryview(mmap.mmap(-1, max(1, size)))[:size]


# Stripes in flight during a put, beyond the one being read. Each holds a stripe buffer and
# its parity (15 MiB at the default (4, 2) stripe), so memory stays flat at about
# (window + 2) stripes whatever the object's size. Four keep both cores busy: while the
# calling thread reads and hashes (CID) one stripe, the pool encrypts and encodes another,
# and the write tasks hash and write the shards of the two before it.
PUT_WINDOW = 4

# Shard writes get a pool of their own: a direct write waits for the disk with its thread, so
# on the compute pool it would leave a core idle. Each write task also hashes its shard first
# (hashlib releases the GIL), which spreads that third of a put's work over more threads. Four
# keep a (4, 2) stripe's six shards moving while the compute pool works on the next stripe;
# more only queue at the disk.
WRITE_THREADS = 4


@dataclass
class _PutState:
    written: list[tuple[int, str]] = field(default_factory=list)  # (node, key) attempted
    dead: set[int] = field(default_factory=set)  # nodes that failed during this put
    failures: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    aborted: bool = False  # set when the put fails: queued writes then do nothing


@dataclass
class _Slot:
    """One stripe in flight: its buffers, and the future of its encoding stage."""

    index: int
    length: int  # bytes encoded: the stripe's ciphertext and tag
    buffer: memoryview  # plaintext, then ciphertext and tag (sealed in place)
    parity: memoryview
    encoded: Future[list[Future[ShardInfo]]]


class _Spares:
    """The spare nodes of one stripe, shared by its shard writes (which run concurrently)."""

    def __init__(self, nodes: Sequence[int], state: _PutState) -> None:
        self._nodes = list(nodes)
        self._state = state

    def replace(self, node_id: int, error: NodeUnavailable) -> int:
        """Record that `node_id` failed and return the next live spare; re-raise if none."""
        with self._state.lock:
            self._state.dead.add(node_id)
            self._state.failures.append((node_id, str(error)))
            self._nodes = [n for n in self._nodes if n not in self._state.dead]
            if not self._nodes:
                raise error
            return self._nodes.pop(0)


def write_object(
    stream: object,
    *,
    object_id: uuid.UUID,
    k: int,
    m: int,
    stripe_size: int,
    data_key: bytes,
    backends: Mapping[int, NodeBackend],
    placement: Callable[[int], Sequence[int]],
    executor: Executor,
    io_executor: Executor | None = None,
    window: int = PUT_WINDOW,
    on_node_failure: Callable[[int, str], None] | None = None,
) -> Manifest:
    """Store the bytes of `stream` (anything with `readinto` or `read`) and return the manifest.

    `placement(stripe_index)` lists node ids for the stripe: the first k+m receive shards
    0..k+m-1, the rest are spares used, in order, when a node fails during the write; shards of
    one stripe always land on distinct nodes. `stripe_size` is the number of bytes the code
    encodes per stripe (ciphertext plus the 16-byte tag).

    The work is a pipeline over three kinds of thread: this one reads each stripe and feeds
    the CID; `executor` encrypts and encodes it; `io_executor` (a private pool if None) hashes
    each shard and writes it to its node, then syncs every node once at the end. The long calls
    (hashing, AES, numpy, writes) leave the GIL to the other threads, so the stages of
    neighbouring stripes run on all cores. No task waits for another, so the pools may be
    shared, even be one pool.

    All or nothing: if anything fails (the stream, a node with no spare left, the caller's
    callback), every shard written so far is deleted before the exception propagates. Shards
    are durable (`NodeBackend.sync`) before this returns. `on_node_failure(node_id, message)`
    is called from the calling thread after the put for each node that failed during it (it
    was skipped for the rest of the put).
    """
    if stripe_size <= TAG_SIZE:
        raise ValueError(f"stripe_size must exceed {TAG_SIZE} bytes, got {stripe_size}")
    own_io = io_executor is None
    io_pool = ThreadPoolExecutor(WRITE_THREADS, "storage-io") if own_io else io_executor
    assert io_pool is not None
    put = _Put(
        object_id=object_id,
        k=k,
        m=m,
        stripe_size=stripe_size,
        data_key=data_key,
        backends=backends,
        placement=placement,
        executor=executor,
        io_executor=io_pool,
        window=max(1, window),
    )
    try:
        manifest = put.run(stream)
    finally:
        if own_io:
            io_pool.shutdown(wait=True)
    if on_node_failure is not None:
        for node_id, message in put.state.failures:
            on_node_failure(node_id, message)
    return manifest


class _Put:
    """The state and stages of one `write_object` call."""

    def __init__(
        self,
        *,
        object_id: uuid.UUID,
        k: int,
        m: int,
        stripe_size: int,
        data_key: bytes,
        backends: Mapping[int, NodeBackend],
        placement: Callable[[int], Sequence[int]],
        executor: Executor,
        io_executor: Executor,
        window: int,
    ) -> None:
        self.object_id = object_id
        self.k, self.m = k, m
        self.stripe_size = stripe_size
        self.data_key = data_key
        self.backends = backends
        self.placement = placement
        self.executor = executor
        self.io_executor = io_executor
        self.window = window
        self.code = ZigzagCode(k, m)
        self.state = _PutState()
        self.parity_size = self.code.parity_buffer_size(stripe_size)

    def run(self, stream: object) -> Manifest:
        plain_cap = self.stripe_size - TAG_SIZE
        cid = CidBuilder()
        size = 0
        stripes: list[StripeInfo] = []
        slots: deque[_Slot] = deque()
        free: list[memoryview] = []  # stripe buffers of stripes already stored
        free_parity: list[memoryview] = []
        try:
            index = 0
            buffer, n = _read_stripe(stream, plain_cap, free, cid)
            while True:
                if n < plain_cap:
                    final, following = True, None
                else:
                    # A full stripe may be the last: only the next read tells (the tag binds it).
                    following = _read_stripe(stream, plain_cap, free, cid)
                    final = following[1] == 0
                size += n
                parity = free_parity.pop() if free_parity else _aligned(self.parity_size)
                encoded = self.executor.submit(
                    self._encode, index, buffer[: n + TAG_SIZE], parity, final
                )
                slots.append(_Slot(index, n + TAG_SIZE, buffer, parity, encoded))
                while len(slots) >= self.window:
                    stripes.append(self._finish(slots.popleft(), free, free_parity))
                if final:
                    break
                buffer, n = following  # type: ignore[misc]
                index += 1
            while slots:
                stripes.append(self._finish(slots.popleft(), free, free_parity))
            self._sync(stripes)
        except BaseException:
            self._abort(slots)
            raise
        return Manifest(
            object_id=self.object_id,
            k=self.k,
            m=self.m,
            stripe_size=self.stripe_size,
            size=size,
            cid=cid.finalize(),
            stripes=stripes,
        )

    def _encode(
        self, index: int, sealed: memoryview, parity: memoryview, final: bool
    ) -> list[Future[ShardInfo]]:
        """Encrypt the stripe in place, cut it into shards and queue their writes."""
        seal_stripe(
            sealed, data_key=self.data_key, object_id=self.object_id, index=index, final=final
        )
        # A rare geometry can need more for a short last stripe: then a buffer of its own.
        fits = self.code.parity_buffer_size(len(sealed)) <= len(parity)
        shards = self.code.encode_stripe(sealed, parity_out=parity if fits else None)
        k, m = self.k, self.m
        order = [n for n in self.placement(index) if n not in self.state.dead]
        if len(order) < k + m:
            raise NodeUnavailable(
                f"stripe {index} needs {k + m} distinct nodes and only {len(order)} are left"
            )
        spares = _Spares(order[k + m :], self.state)
        return [
            self.io_executor.submit(self._write_shard, index, i, shard, order[i], spares)
            for i, shard in enumerate(shards)
        ]

    def _write_shard(
        self, index: int, i: int, shard: memoryview, node_id: int, spares: _Spares
    ) -> ShardInfo:
        """Hash one shard and write it to its node, or to a spare if the node fails."""
        if self.state.aborted:
            raise _Aborted
        digest = hashlib.sha256(shard).digest()
        key = shard_key(self.object_id, index, i)
        while True:
            with self.state.lock:
                self.state.written.append((node_id, key))
            try:
                self.backends[node_id].put(key, shard)
                return ShardInfo(i, node_id, key, digest, len(shard))
            except NodeUnavailable as exc:
                node_id = spares.replace(node_id, exc)

    def _finish(
        self, slot: _Slot, free: list[memoryview], free_parity: list[memoryview]
    ) -> StripeInfo:
        """Wait for a stripe's writes; its buffers are then free for a later stripe."""
        writes = slot.encoded.result()
        wait(writes)
        infos = [w.result() for w in writes]
        free.append(slot.buffer)
        free_parity.append(slot.parity)
        return StripeInfo(slot.index, slot.length, infos)

    def _sync(self, stripes: list[StripeInfo]) -> None:
        """Make every shard durable: each node syncs its own, all nodes at once."""
        by_node: dict[int, list[str]] = {}
        for stripe in stripes:
            for s in stripe.shards:
                by_node.setdefault(s.node_id, []).append(s.key)
        syncs = [
            self.io_executor.submit(self.backends[node_id].sync, keys)
            for node_id, keys in by_node.items()
        ]
        wait(syncs)
        for f in syncs:
            f.result()

    def _abort(self, slots: deque[_Slot]) -> None:
        """Stop queued work, wait for what is running, and delete every shard written."""
        self.state.aborted = True
        for slot in slots:
            slot.encoded.cancel()
        wait([slot.encoded for slot in slots])
        writes = [
            w
            for slot in slots
            if not slot.encoded.cancelled() and slot.encoded.exception() is None
            for w in slot.encoded.result()
        ]
        for w in writes:
            w.cancel()
        wait(writes)
        _delete_quietly(self.backends, self.state.written)


class _Aborted(Exception):
    """A queued shard write skipped because its put had already failed."""


def _delete_quietly(backends: Mapping[int, NodeBackend], keys: Sequence[tuple[int, str]]) -> None:
    for node_id, key in set(keys):
        # An unreachable node's leftovers are swept by the scrub as orphans.
        with contextlib.suppress(NodeError):
            backends[node_id].delete(key)


def fetch_shards(
    stripe: StripeInfo,
    *,
    k: int,
    backends: Mapping[int, NodeBackend],
    want: int | None = None,
    io_executor: Executor | None = None,
) -> tuple[dict[int, bytes], list[ShardProblem]]:
    """Read shards of `stripe` until `want` (default k) have good hashes.

    Data shards first (no decoding needed then), then parity, then shards known to be bad as a
    last resort; shards on nodes without a backend (nodes marked down) are never read. Every
    shard read is checked against its length and SHA-256; failures come back as problems.

    With `io_executor`, the reads still needed are made at once, in waves (the first `want`
    candidates, then as many more as failed): a shard not in the page cache waits for the
    disk, and one read at a time measured a quarter of what the disk gives several. The shards
    read, and the problems found, are the same as one at a time.
    """
    want = k if want is None else want
    order = sorted(stripe.shards, key=lambda s: (not s.usable, s.index >= k, s.index))
    candidates = [s for s in order if backends.get(s.node_id) is not None]
    got: dict[int, bytes] = {}
    problems: list[ShardProblem] = []
    while len(got) < want and candidates:
        wave, candidates = candidates[: want - len(got)], candidates[want - len(got) :]
        for shard, outcome in zip(wave, _read_wave(wave, backends, io_executor), strict=True):
            problem = _check_shard(stripe, shard, outcome)
            if problem is None:
                got[shard.index] = outcome  # type: ignore[assignment]
            else:
                problems.append(problem)
    return got, problems


def _read_wave(
    shards: Sequence[ShardInfo], backends: Mapping[int, NodeBackend], io_executor: Executor | None
) -> list[bytes | NodeError]:
    """Each shard's bytes, or the node error reading it gave; concurrently with an executor."""

    def read(shard: ShardInfo) -> bytes | NodeError:
        try:
            return backends[shard.node_id].get(shard.key)
        except (ShardMissing, NodeUnavailable) as exc:
            return exc

    if io_executor is None or len(shards) < 2:
        return [read(s) for s in shards]
    return [f.result() for f in [io_executor.submit(read, s) for s in shards]]


def _check_shard(
    stripe: StripeInfo, shard: ShardInfo, outcome: bytes | NodeError
) -> ShardProblem | None:
    """None if `outcome` is the shard's bytes with its recorded length and hash."""
    if isinstance(outcome, ShardMissing):
        return ShardProblem(stripe.index, shard.index, shard.node_id, "missing", str(outcome))
    if isinstance(outcome, NodeError):
        return ShardProblem(stripe.index, shard.index, shard.node_id, "unavailable", str(outcome))
    if len(outcome) != shard.length or hashlib.sha256(outcome).digest() != shard.sha256:
        return ShardProblem(
            stripe.index,
            shard.index,
            shard.node_id,
            "corrupt",
            f"{len(outcome)} bytes whose SHA-256 does not match the one recorded",
        )
    return None


def rebuild_stripe(stripe: StripeInfo, got: Mapping[int, bytes], *, k: int, m: int) -> list[bytes]:
    """All k+m shards of a stripe from any k good ones (decode, then encode again).

    The code is deterministic, so each rebuilt shard is byte-identical to the one first
    written and matches its recorded hash; callers check that before storing it.
    """
    code = ZigzagCode(k, m)
    sealed = code.decode_stripe([got.get(i) for i in range(k + m)], stripe.length)
    return [bytes(s) for s in code.encode_stripe(sealed)]


class ObjectReader(io.RawIOBase):
    """A read-only binary stream of an object's verified plaintext.

    Stripes are fetched, checked and decrypted up to `prefetch` ahead on `executor`, so at most
    that many stripes of plaintext are held at once; with `io_executor` (which must not be
    `executor`: a stripe's task waits for its reads) the shards of a stripe are read at once.
    `on_problems(list)` is called on the reading thread with the shard problems met in each
    stripe (for the caller to record and repair). A stripe that cannot be read raises
    `StripeUnreadable` from `read`, after `on_problems` saw its problems; bytes of a stripe are
    only ever returned once its GCM tag verified. Iterating yields the plaintext in pieces (a
    stripe at a time), for streaming responses.
    """

    def __init__(
        self,
        manifest: Manifest,
        *,
        data_key: bytes,
        backends: Mapping[int, NodeBackend],
        executor: Executor,
        on_problems: Callable[[list[ShardProblem]], object] | None = None,
        prefetch: int = 2,
        io_executor: Executor | None = None,
    ) -> None:
        super().__init__()
        self.manifest = manifest
        self._data_key = data_key
        self._backends = backends
        self._executor = executor
        self._io_executor = io_executor  # reads a stripe's shards at once (`fetch_shards`)
        self._on_problems = on_problems
        self._prefetch = max(1, prefetch)
        self._code = ZigzagCode(manifest.k, manifest.m)
        self._futures: deque[Future[tuple[memoryview, list[ShardProblem]]]] = deque()
        self._submitted = 0
        self._chunk = memoryview(b"")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def _load(self, stripe: StripeInfo) -> tuple[memoryview, list[ShardProblem]]:
        k, m = self.manifest.k, self.manifest.m
        got, problems = fetch_shards(
            stripe, k=k, backends=self._backends, io_executor=self._io_executor
        )
        if len(got) < k:
            raise StripeUnreadable(stripe, k, len(got), problems)
        sealed = self._code.decode_stripe([got.get(i) for i in range(k + m)], stripe.length)
        del got
        final = stripe.index == len(self.manifest.stripes) - 1
        plaintext = open_stripe(
            sealed,
            data_key=self._data_key,
            object_id=self.manifest.object_id,
            index=stripe.index,
            final=final,
        )
        return plaintext, problems

    def _next_chunk(self) -> bool:
        stripes = self.manifest.stripes
        while len(self._futures) < self._prefetch and self._submitted < len(stripes):
            self._futures.append(self._executor.submit(self._load, stripes[self._submitted]))
            self._submitted += 1
        if not self._futures:
            return False
        future = self._futures.popleft()
        try:
            plaintext, problems = future.result()
        except StripeUnreadable as exc:
            if self._on_problems is not None and exc.problems:
                self._on_problems(exc.problems)
            raise
        if problems and self._on_problems is not None:
            self._on_problems(problems)
        self._chunk = plaintext
        self._pos = 0
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("read from a closed object reader")
        view = memoryview(buffer).cast("B")
        while self._pos >= len(self._chunk):
            if not self._next_chunk():
                return 0
        n = min(len(view), len(self._chunk) - self._pos)
        view[:n] = self._chunk[self._pos : self._pos + n]
        self._pos += n
        return n

    def __iter__(self) -> Iterator[bytes]:
        if self._pos < len(self._chunk):
            rest = bytes(self._chunk[self._pos :])
            self._pos = len(self._chunk)
            yield rest
        while self._next_chunk():
            self._pos = len(self._chunk)
            if len(self._chunk):
                yield self._chunk.tobytes()

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self._futures.clear()
        self._chunk = memoryview(b"")
        super().close()

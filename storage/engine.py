"""Storing and reading one object over nodes: the streaming pipeline, with no Django in it.

`write_object` reads a stream stripe by stripe and, for each stripe, encrypts it (AES-256-GCM,
`storage.crypto`), cuts it into k data and m parity shards (`storage.zigzag`), hashes every
shard (SHA-256) and writes each shard of the stripe to a different node. The plaintext's CID
(`storage.cid`) is computed on the way in. `ObjectReader` does the reverse: it reads any k
shards of each stripe whose hashes check, decodes, verifies the GCM tag and hands out only
verified plaintext.

Both work in bounded memory whatever the object size: a few stripes are in flight at a time
(`window` for puts, `prefetch` for reads), each held as one buffer that is encrypted or
decrypted in place, plus its parity. The work runs on a thread pool, which pays on a multi-core
machine because hashlib, pycryptodome's AES and numpy release the GIL on large buffers: while
the calling thread reads the next stripe and feeds the CID, pool threads encrypt, encode, hash
and write the previous ones.

The caller (`storage.services`) keeps the database side: which nodes exist, where each shard
went, and what was found broken. This module reports that through return values and
callbacks; it never decides policy.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, wait
from dataclasses import dataclass, field

from storage.cid import CidBuilder
from storage.crypto import TAG_SIZE, open_stripe, seal_stripe
from storage.nodes import NodeBackend, NodeError, NodeUnavailable, ShardMissing, shard_key
from storage.zigzag import ZigzagCode

__all__ = [
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


def _read_stripe(stream: object, plain_cap: int, free: list[memoryview]) -> tuple[memoryview, int]:
    """A buffer of plain_cap + TAG_SIZE bytes and how many of them `stream` filled.

    Fewer than plain_cap only at the stream's end. The tag's room is allocated up front so the
    stripe is encrypted where it was read, without another copy. Buffers of stripes already
    stored are reused (`free`): on virtual machines a fresh page costs a fault and zeroing,
    which measured as much as the encryption.
    """
    view = free.pop() if free else memoryview(bytearray(plain_cap + TAG_SIZE))
    got = 0
    readinto = getattr(stream, "readinto", None)
    while got < plain_cap:
        if readinto is not None:
            r = readinto(view[got:plain_cap])
        else:
            chunk = stream.read(plain_cap - got)  # type: ignore[attr-defined]
            r = len(chunk) if chunk else 0
            view[got : got + r] = chunk if chunk else b""
        if not r:
            break
        got += r
    return view, got


@dataclass
class _PutState:
    written: list[tuple[int, str]] = field(default_factory=list)  # (node, key) attempted
    dead: set[int] = field(default_factory=set)  # nodes that failed during this put
    failures: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


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
    window: int = 3,
    on_node_failure: Callable[[int, str], None] | None = None,
) -> Manifest:
    """Store the bytes of `stream` (anything with `readinto` or `read`) and return the manifest.

    `placement(stripe_index)` lists node ids for the stripe: the first k+m receive shards
    0..k+m-1, the rest are spares used, in order, when a node fails during the write; shards of
    one stripe always land on distinct nodes. `stripe_size` is the number of bytes the code
    encodes per stripe (ciphertext plus the 16-byte tag).

    All or nothing: if anything fails (the stream, a node with no spare left, the caller's
    callback), every shard written so far is deleted before the exception propagates.
    `on_node_failure(node_id, message)` is called from the calling thread after the put for
    each node that failed during it (it was skipped for the rest of the put).
    """
    code = ZigzagCode(k, m)
    if stripe_size <= TAG_SIZE:
        raise ValueError(f"stripe_size must exceed {TAG_SIZE} bytes, got {stripe_size}")
    plain_cap = stripe_size - TAG_SIZE
    state = _PutState()

    def store(index: int, buffer: memoryview, final: bool) -> StripeInfo:
        sealed = buffer  # encrypted in place: the plaintext is gone from here on
        seal_stripe(sealed, data_key=data_key, object_id=object_id, index=index, final=final)
        shards = code.encode_stripe(sealed)
        order = [n for n in placement(index) if n not in state.dead]
        if len(order) < k + m:
            raise NodeUnavailable(
                f"stripe {index} needs {k + m} distinct nodes and only {len(order)} are left"
            )
        spares = order[k + m :]
        infos = []
        for i, shard in enumerate(shards):
            digest = hashlib.sha256(shard).digest()
            key = shard_key(object_id, index, i)
            node_id = order[i]
            while True:
                with state.lock:
                    state.written.append((node_id, key))
                try:
                    backends[node_id].put(key, shard)
                    break
                except NodeUnavailable as exc:
                    with state.lock:
                        state.dead.add(node_id)
                        state.failures.append((node_id, str(exc)))
                    spares = [n for n in spares if n not in state.dead]
                    if not spares:
                        raise
                    node_id = spares.pop(0)
            infos.append(ShardInfo(i, node_id, key, digest, len(shard)))
        return StripeInfo(index, len(sealed), infos)

    cid = CidBuilder()
    size = 0
    stripes: list[StripeInfo] = []
    futures: deque[Future[StripeInfo]] = deque()
    buffers: deque[memoryview] = deque()  # of the stripes in `futures`, in the same order
    free: list[memoryview] = []
    try:
        index = 0
        buffer, n = _read_stripe(stream, plain_cap, free)
        while True:
            if n < plain_cap:
                final, following = True, None
            else:
                # A full stripe may be the last: only the next read tells (the tag binds it).
                following = _read_stripe(stream, plain_cap, free)
                final = following[1] == 0
            # The CID first, on this thread: the pool encrypts the buffer in place.
            cid.update(buffer[:n])
            size += n
            futures.append(executor.submit(store, index, buffer[: n + TAG_SIZE], final))
            buffers.append(buffer)
            while len(futures) >= window:
                stripes.append(futures.popleft().result())
                free.append(buffers.popleft())
            if final:
                break
            buffer, n = following  # type: ignore[misc]
            index += 1
        while futures:
            stripes.append(futures.popleft().result())
        by_node: dict[int, list[str]] = {}
        for stripe in stripes:
            for s in stripe.shards:
                by_node.setdefault(s.node_id, []).append(s.key)
        for node_id, keys in by_node.items():
            backends[node_id].sync(keys)
    except BaseException:
        for f in futures:
            f.cancel()
        wait(futures)
        _delete_quietly(backends, state.written)
        raise
    if on_node_failure is not None:
        for node_id, message in state.failures:
            on_node_failure(node_id, message)
    return Manifest(
        object_id=object_id,
        k=k,
        m=m,
        stripe_size=stripe_size,
        size=size,
        cid=cid.finalize(),
        stripes=stripes,
    )


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
) -> tuple[dict[int, bytes], list[ShardProblem]]:
    """Read shards of `stripe` until `want` (default k) have good hashes.

    Data shards first (no decoding needed then), then parity, then shards known to be bad as a
    last resort; shards on nodes without a backend (nodes marked down) are never read. Every
    shard read is checked against its length and SHA-256; failures come back as problems.
    """
    want = k if want is None else want
    order = sorted(stripe.shards, key=lambda s: (not s.usable, s.index >= k, s.index))
    got: dict[int, bytes] = {}
    problems: list[ShardProblem] = []
    for shard in order:
        if len(got) >= want:
            break
        backend = backends.get(shard.node_id)
        if backend is None:
            continue
        try:
            data = backend.get(shard.key)
        except ShardMissing as exc:
            problems.append(
                ShardProblem(stripe.index, shard.index, shard.node_id, "missing", str(exc))
            )
            continue
        except NodeUnavailable as exc:
            problems.append(
                ShardProblem(stripe.index, shard.index, shard.node_id, "unavailable", str(exc))
            )
            continue
        if len(data) != shard.length or hashlib.sha256(data).digest() != shard.sha256:
            problems.append(
                ShardProblem(
                    stripe.index,
                    shard.index,
                    shard.node_id,
                    "corrupt",
                    f"{len(data)} bytes whose SHA-256 does not match the one recorded",
                )
            )
            continue
        got[shard.index] = data
    return got, problems


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
    that many stripes of plaintext are held at once. `on_problems(list)` is called on the
    reading thread with the shard problems met in each stripe (for the caller to record and
    repair). A stripe that cannot be read raises `StripeUnreadable` from `read`, after
    `on_problems` saw its problems; bytes of a stripe are only ever returned once its GCM tag
    verified. Iterating yields the plaintext in pieces (a stripe at a time), for streaming
    responses.
    """

    def __init__(
        self,
        manifest: Manifest,
        *,
        data_key: bytes,
        backends: Mapping[int, NodeBackend],
        executor: Executor,
        on_problems: Callable[[list[ShardProblem]], None] | None = None,
        prefetch: int = 2,
    ) -> None:
        super().__init__()
        self.manifest = manifest
        self._data_key = data_key
        self._backends = backends
        self._executor = executor
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
        got, problems = fetch_shards(stripe, k=k, backends=self._backends)
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

    def __iter__(self) -> Iterator[bytes]:  # type: ignore[override]
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

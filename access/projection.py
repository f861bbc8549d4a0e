"""Data service customization (SPEC workflow 5): stream exactly a grant's view.

How a download runs, in bounded memory and on every core:

* The thread serving the response reads the verified plaintext from
  `storage.services.object_open` straight into a buffer of ACCESS_DOWNLOAD_BLOCK_BYTES and cuts
  it at the last row boundary (`row_chunks`). The cut is quote-aware, so a quoted value holding
  a line break is never split; the header row is dropped (its names are the version's schema).
* A small thread pool takes each chunk: pyarrow parses it (`read_csv`), the grant's row filter
  (compiled to a pyarrow.compute expression, never SQL) drops rows, the granted columns are
  kept and masked, and CSV or NDJSON is written. Parsing, filtering and writing run in C++
  with the GIL released, so the chunks are worked on at the same time on every core.
* The serving thread hands the pieces on in file order (it hashes them on the way, in
  services), with at most `threads + 1` chunks in flight. Parquet is written there, since one
  writer must see its row groups in order.

Memory therefore holds a few chunks and their parsed columns whatever the dataset's size.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from access import rowfilter
from catalog.arrow_copy import MEMORY_POOL as _POOL
from catalog.arrow_copy import PARSE_OPTIONS, convert_options

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
# Two cores parse twice as fast; beyond four, one download would starve the others.
DEFAULT_THREADS = max(1, min(4, os.cpu_count() or 1))

_QUOTE, _COMMA, _LF, _CR = 34, 44, 10, 13


_BOM = b"\xef\xbb\xbf"


@dataclass
class Projection:
    """What a grant shows: columns (in file order), a filter, masks, and the key for pseudonyms."""

    columns: list[str]
    filter: str
    masks: dict[str, str]
    key: bytes
    schema: list[dict[str, Any]]
    pseudonym_chars: int = 16
    # CSV only: prefix text cells and header names a spreadsheet would run as a formula with
    # a quote (`spreadsheet_safe`); False delivers the exact values (?csv=raw).
    csv_safe: bool = True

    @cached_property
    def pseudonymizer(self) -> Pseudonymizer:
        return Pseudonymizer(self.key, self.pseudonym_chars)


# OWASP's CSV injection guidance: a cell beginning with one of these is a formula (or becomes
# one) in Excel, LibreOffice and Google Sheets; a leading ' makes it text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "^[=+\\-@\t\r]"


_FORMULA_BYTES = np.zeros(256, dtype=bool)
_FORMULA_BYTES[[ord(c) for c in FORMULA_STARTS]] = True


def _formula_like(values: pa.Array) -> np.ndarray | None:
    """True for the cells of a string array whose first byte starts a formula: read straight
    from its offsets and data buffers with numpy (a few ms per million cells; the regex
    kernel took 18); None if there is no such cell."""
    offset_type: np.dtype[np.signedinteger[Any]]
    if values.type == pa.string():
        offset_type = np.dtype(np.int32)
    elif values.type == pa.large_string():
        offset_type = np.dtype(np.int64)
    else:
        risky = pc.match_substring_regex(values, _FORMULA_START, memory_pool=_POOL)
        risky = pc.fill_null(risky, False)
        return risky.to_numpy(zero_copy_only=False) if pc.any(risky).as_py() else None
    _, offsets_buffer, data_buffer = values.buffers()
    if data_buffer is None or len(values) == 0:
        return None
    offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[
        values.offset : values.offset + len(values) + 1
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    if len(data) == 0:
        return None
    starts = offsets[:-1]
    risky = _FORMULA_BYTES[data[np.minimum(starts, len(data) - 1)]] & (offsets[1:] > starts)
    if values.null_count:
        risky &= values.is_valid().to_numpy(zero_copy_only=False)
    return risky if risky.any() else None


def spreadsheet_safe(values: pa.Array) -> pa.Array:
    """`values` (strings) with ' before each that begins like a formula; vectorised, and a
    copy only when the array holds such a value."""
    risky = _formula_like(values)
    if risky is None:
        return values
    quote = pa.scalar("'", values.type)
    quoted = pc.binary_join_element_wise(
        quote, values, pa.scalar("", values.type), memory_pool=_POOL
    )
    return pc.if_else(pa.array(risky), quoted, values, memory_pool=_POOL)


def safe_name(name: str) -> str:
    """A header name as `spreadsheet_safe` would deliver it."""
    return "'" + name if name.startswith(FORMULA_STARTS) else name


class Pseudonymizer:
    """HMAC-SHA-256 (RFC 2104) under one grant's key, as `chars` hex digits.

    The key's inner and outer hash states are computed once; each value then costs two state
    copies instead of a fresh `hmac.new`, the same bytes at about three times the speed.
    Identifiers repeat across a file (a customer with many loans), so the values already seen
    in this download and their tokens are kept as two aligned arrays: a batch is looked up in
    one vectorised `index_in`, and only values never seen before reach Python and the HMAC.
    The arrays restart when they would pass `cache_size` values, so they stay a few MiB.
    """

    def __init__(self, key: bytes, chars: int, cache_size: int = 1 << 16) -> None:
        block = hashlib.sha256().block_size
        if len(key) > block:
            key = hashlib.sha256(key).digest()
        key = key.ljust(block, b"\0")
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        self.chars = chars
        self.cache_size = cache_size
        # (values, tokens), replaced whole and never changed in place, so the download's
        # worker threads always read a matching pair. Two threads adding at once may lose one
        # addition: those values are hashed again later, to the same tokens.
        self.known: tuple[pa.Array, pa.Array] = (
            pa.array([], pa.binary()),
            pa.array([], pa.string()),
        )

    def token(self, value: bytes) -> str:
        inner = self.inner.copy()
        inner.update(value)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()[: self.chars]

    def __call__(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """The tokens of `values`, row for row; nulls stay null."""
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks(memory_pool=_POOL)
        if not pa.types.is_string(values.type):
            values = pc.cast(values, pa.string(), memory_pool=_POOL)
        raw = values.view(pa.binary())  # the UTF-8 bytes, as hashed
        known, tokens = self.known
        where = pc.index_in(raw, value_set=known, memory_pool=_POOL)
        new = pc.and_(pc.is_null(where), pc.is_valid(raw))
        if pc.any(new).as_py():
            fresh = pc.unique(raw.filter(new)).to_pylist()
            made = pa.array(list(map(self.token, fresh)), pa.string())
            if len(known) + len(fresh) > self.cache_size:
                known, tokens = pa.array(fresh, pa.binary()), made
            else:
                known = pa.concat_arrays([known, pa.array(fresh, pa.binary())])
                tokens = pa.concat_arrays([tokens, made])
            self.known = known, tokens
            where = pc.index_in(raw, value_set=known, memory_pool=_POOL)
        return pc.take(tokens, where, memory_pool=_POOL)


def _mask(values: Any, spec: str, kind: str, view: Projection) -> Any:
    name, _, arg = spec.partition(":")
    if name == "pseudonymize":
        return view.pseudonymizer(values)
    if name == "truncate":
        text = pc.cast(values, pa.string(), memory_pool=_POOL)
        return pc.utf8_slice_codeunits(text, 0, int(arg), memory_pool=_POOL)
    if name == "year_only":
        if kind == "date":
            return pc.year(values, memory_pool=_POOL)
        year = pc.utf8_slice_codeunits(values, 0, 4, memory_pool=_POOL)
        return pc.cast(year, pa.int64(), memory_pool=_POOL)
    raise ValueError(f"unknown mask {spec}")


# --- Cutting the stored CSV into chunks of whole rows ------------------------------------------


class NotPlainCsv(Exception):
    """A quote stands where RFC 4180 puts none (inside an unquoted value, or right after a
    closing quote), so counting quotes would not find the row boundaries pyarrow finds."""


def header_end(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """The offset just past the line end of the row starting at `start`; -1 if `data` does not
    hold all of it yet.

    Follows pyarrow's CSV lexer: a quote opens a quoted value only at the start of a field, a
    doubled quote inside one is a quote, and CR, LF or CR LF ends a row outside quotes. A loop
    per byte, so it is used for the header only.
    """
    quoted, field_start, i, n = False, True, start, len(data)
    while i < n:
        c = data[i]
        if quoted:
            if c == _QUOTE:
                if i + 1 == n:
                    return -1
                if data[i + 1] == _QUOTE:
                    i += 2
                    continue
                quoted = False
            i += 1
            continue
        if c == _QUOTE and field_start:
            quoted = True
        elif c == _LF:
            return i + 1
        elif c == _CR:
            if i + 1 == n:
                return -1
            return i + 2 if data[i + 1] == _LF else i + 1
        field_start = c == _COMMA
        i += 1
    return -1


def last_row_end(data: bytes | bytearray, start: int = 0) -> int:
    """The offset just past the last complete row of `data[start:]`, which begins on a row
    boundary; `start` if it holds no complete row.

    A line feed ends a row when an even number of quotes precede it (RFC 4180: quotes open and
    close quoted values, and a quote inside one is doubled). That is what pyarrow's lexer does
    as long as every quote stands where RFC 4180 puts it, which is checked, vectorised, for the
    quotes before the cut; raises NotPlainCsv otherwise. A chunk without quotes costs one
    `memchr`.
    """
    end = data.rfind(b"\n", start)
    if end < 0:
        return start
    if data.find(b'"', start, end) < 0:
        return end + 1
    raw = np.frombuffer(data, np.uint8)
    quotes = np.flatnonzero(raw[start:end] == _QUOTE) + start
    while True:
        before = int(np.searchsorted(quotes, end))
        if before % 2 == 0:
            break
        # This line feed is inside the quoted value opened by the last quote before it.
        end = data.rfind(b"\n", start, int(quotes[before - 1]))
        if end < 0:
            return start
    _check_quotes(raw, quotes[:before], start)
    return end + 1


def _check_quotes(raw: np.ndarray, quotes: np.ndarray, start: int) -> None:
    if not len(quotes):
        return
    opening, closing = quotes[0::2], quotes[1::2]
    # An opening quote starts a field (or is the second of a doubled quote); a closing one
    # ends it (or is the first of a doubled quote). `closing + 1` is always inside `raw`: the
    # row ends with a line feed after it.
    inner = opening[opening > start]
    before = raw[inner - 1]
    after = raw[closing + 1]
    fine = (_COMMA, _LF, _CR, _QUOTE)
    if not (np.isin(before, fine).all() and np.isin(after, fine).all()):
        raise NotPlainCsv


class Tail(io.RawIOBase):
    """The rest of the stream (what is buffered, then the stream), for pyarrow's own reader."""

    def __init__(self, buffered: memoryview, stream: Any) -> None:
        super().__init__()
        self._buffered = buffered
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._buffered:
            n = min(len(buffer), len(self._buffered))
            memoryview(buffer).cast("B")[:n] = self._buffered[:n]
            self._buffered = self._buffered[n:]
            return n
        return self._stream.readinto(buffer)


class RowChunks:
    """The data rows of the CSV `stream` (header and byte order mark dropped) as chunks of
    about `size` bytes, each ending on a row boundary, read straight into the chunk's buffer.

    A row longer than `size` grows the buffer to hold it (publishing refuses rows over 4 MiB).
    From the first quote that is not where RFC 4180 puts it, the rest comes as one `Tail` for
    pyarrow's own (serial, but always right) reader. A chunk's buffer handed back with
    `release` once nothing reads it any more is filled again: a new buffer per chunk made
    the process's heap creep upwards (malloc keeps freed blocks of this size).
    """

    def __init__(self, stream: Any, size: int) -> None:
        self.stream, self.size = stream, max(size, 1)
        self._free: list[bytearray] = []

    def release(self, chunk: memoryview) -> None:
        if isinstance(chunk.obj, bytearray) and len(chunk.obj) == self.size:
            self._free.append(chunk.obj)

    def _buffer(self) -> bytearray:
        return self._free.pop() if self._free else bytearray(self.size)

    def __iter__(self) -> Iterator[memoryview | Tail]:
        stream, size = self.stream, self.size
        buf, fill, start, header = self._buffer(), 0, 0, True
        while True:
            n = stream.readinto(memoryview(buf)[fill:]) if fill < len(buf) else 0
            fill += n
            done = n == 0 and fill < len(buf)
            if header:
                end = -1
                if fill >= len(_BOM) or done:
                    start = len(_BOM) if buf.startswith(_BOM) else 0
                    end = header_end(memoryview(buf)[:fill], start)
                if end < 0 and not done:
                    if fill == len(buf):
                        buf = _grown(buf)
                    continue
                start, header = (fill if end < 0 else end), False
            if done:
                if fill > start:
                    yield memoryview(buf)[start:fill]
                return
            if fill < len(buf):
                continue
            try:
                cut = last_row_end(buf, start)
            except NotPlainCsv:
                yield Tail(memoryview(buf)[start:fill], stream)
                return
            if cut == start:  # one row fills the buffer: make room for the rest of it
                buf = _grown(buf)
                continue
            rest = fill - cut
            following = self._buffer() if 2 * rest <= size else bytearray(2 * rest)
            following[:rest] = buf[cut:fill]
            yield memoryview(buf)[start:cut]
            buf, fill, start = following, rest, 0


def _grown(buf: bytearray) -> bytearray:
    # A new buffer, not buf.extend(): a worker may still hold a view of a recycled buffer.
    bigger = bytearray(max(2 * len(buf), 1))
    bigger[: len(buf)] = buf
    return bigger


def row_chunks(stream: Any, size: int) -> Iterator[memoryview | Tail]:
    """`RowChunks` without recycling."""
    return iter(RowChunks(stream, size))


# --- Parsing, filtering, masking, writing -----------------------------------------------------


class ProjectionPlan:
    """How one grant's view is made from the stored CSV's rows (shared by the worker threads:
    everything here is read-only, apart from the pseudonymizer's cache)."""

    def __init__(self, view: Projection, fmt: str) -> None:
        self.view, self.fmt = view, fmt
        self.types = {c["name"]: c["type"] for c in view.schema}
        self.names = [c["name"] for c in view.schema]
        node = rowfilter.parse_stored(view.filter, view.schema)
        needed = set(view.columns) | rowfilter.columns_used(node)
        read = [name for name in self.names if name in needed]
        self.read = read
        self.node = node
        self.parse_options = PARSE_OPTIONS
        self.convert_options = convert_options(view.schema, read)
        # The columns whose CSV cells are made spreadsheet-safe: text as published (or
        # truncated). Typed columns (integers, dates), decimals, booleans and timestamps (all
        # checked at publish to be what they say) and pseudonyms (hex) cannot start a formula.
        self.escape = (
            [
                i
                for i, c in enumerate(view.columns)
                if self.types[c] == "text"
                and view.masks.get(c, "").partition(":")[0] in ("", "truncate")
            ]
            if fmt == "csv" and view.csv_safe
            else []
        )

    def parse(self, chunk: memoryview) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(chunk)),
            read_options=pacsv.ReadOptions(
                column_names=self.names, use_threads=False, block_size=len(chunk) + 1
            ),
            parse_options=self.parse_options,
            convert_options=self.convert_options,
            memory_pool=_POOL,
        )

    def shape(self, table: pa.Table) -> pa.Table | None:
        """The rows passing the filter, the granted columns in file order, masked; None if no
        row passes."""
        if self.node is not None:
            table = pc.filter(
                table, rowfilter.row_mask(self.node, self.types, table, _POOL), memory_pool=_POOL
            )
        if table.num_rows == 0:
            return None
        arrays = []
        for column in self.view.columns:
            values = table.column(column)
            spec = self.view.masks.get(column)
            arrays.append(_mask(values, spec, self.types[column], self.view) if spec else values)
        return pa.table(arrays, names=self.view.columns)

    def encode(self, table: pa.Table) -> bytes:
        if self.fmt == "ndjson":
            return _ndjson(table)
        for i in self.escape:
            values = table.column(i)
            if values.null_count < len(values):
                table = table.set_column(
                    i,
                    table.field(i),
                    pa.chunked_array([spreadsheet_safe(c) for c in values.chunks], values.type),
                )
        sink = pa.BufferOutputStream(memory_pool=_POOL)
        pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=False), memory_pool=_POOL)
        return sink.getvalue().to_pybytes()

    def work(self, chunk: memoryview) -> tuple[pa.Table | bytes | None, int]:
        """One chunk, start to end (on a worker thread): the encoded piece or, for Parquet, the
        table for the writer; and its row count."""
        return self.finish(self.parse(chunk))

    def finish(self, table: pa.Table) -> tuple[pa.Table | bytes | None, int]:
        """Rows read as `convert_options` says (parsed, or from the Arrow copy), shaped and
        encoded (on a worker thread)."""
        shaped = self.shape(table)
        if shaped is None:
            return None, 0
        return (shaped if self.fmt == "parquet" else self.encode(shaped)), shaped.num_rows

    def tail(self, tail: Tail, block_size: int) -> Iterator[tuple[pa.Table | bytes | None, int]]:
        """The same for a `Tail`, parsed by pyarrow's streaming reader on this thread."""
        reader = pacsv.open_csv(
            io.BufferedReader(tail, buffer_size=1 << 20),
            read_options=pacsv.ReadOptions(
                column_names=self.names, use_threads=False, block_size=block_size
            ),
            parse_options=self.parse_options,
            convert_options=self.convert_options,
            memory_pool=_POOL,
        )
        for batch in reader:
            piece = self.finish(pa.Table.from_batches([batch]))
            if piece[0] is not None:
                yield piece


def _ndjson(table: pa.Table) -> bytes:
    lines = [
        json.dumps(row, ensure_ascii=False, separators=(",", ":"), default=str)
        for row in table.to_pylist()
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


class _Chunks:
    """A write-only file that keeps what the Parquet writer writes until it is taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def view_pieces(
    stream: Any,
    view: Projection,
    fmt: str,
    *,
    block_size: int,
    threads: int = DEFAULT_THREADS,
    arrow: bool = False,
) -> Iterator[tuple[bytes, int]]:
    """(bytes, rows) pieces of the view in `fmt`, in file order; the header comes first, and
    even when no row passes. `stream` is the version's CSV or, with `arrow`, its Arrow copy
    (`catalog.arrow_copy`): the same rows already parsed, so the workers only shape and encode
    them. Closing the iterator early (a client that went away) cancels the pieces not yet
    started; the ones running finish on their own."""
    plan = ProjectionPlan(view, fmt)
    yield from _pieces(plan, stream, block_size=block_size, threads=threads, arrow=arrow)


def view_tables(
    stream: Any,
    view: Projection,
    *,
    block_size: int,
    threads: int = DEFAULT_THREADS,
    arrow: bool = False,
) -> Iterator[pa.Table]:
    """The view's rows as shaped (filtered, projected, masked) Arrow tables, in file order:
    the same path as `view_pieces` stops before encoding, for callers that write their own
    files (the Delta Sharing tables, which cut the view into Parquet files of bounded size)."""
    plan = ProjectionPlan(view, "parquet")
    yield from _results(plan, stream, block_size=block_size, threads=threads, arrow=arrow)


def _results(
    plan: ProjectionPlan, stream: Any, *, block_size: int, threads: int, arrow: bool
) -> Iterator[pa.Table]:
    """The shaped tables of a Parquet plan (`_pieces` with the writer left to the caller)."""
    for piece, _rows in _pieces(
        plan, stream, block_size=block_size, threads=threads, arrow=arrow, raw=True
    ):
        assert isinstance(piece, pa.Table)
        yield piece


def _pieces(
    plan: ProjectionPlan,
    stream: Any,
    *,
    block_size: int,
    threads: int,
    arrow: bool,
    raw: bool = False,
) -> Iterator[Any]:
    view, fmt = plan.view, plan.fmt
    if fmt == "csv":
        # The header goes out before the first block is read: the client sees bytes at once.
        names = [safe_name(c) if view.csv_safe else c for c in view.columns]
        yield ",".join(_csv_name(c) for c in names).encode("utf-8") + b"\n", 0
    sink = _Chunks()
    writer: Any = None

    def out(result: tuple[pa.Table | bytes | None, int]) -> Iterator[tuple[bytes, int]]:
        nonlocal writer
        piece, rows = result
        if piece is None:
            return
        if isinstance(piece, bytes) or raw:
            yield piece, rows
            return
        if writer is None:
            writer = _parquet_writer(sink, piece.schema)
        writer.write_table(piece)
        yield sink.take(), rows

    pool = ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="bizi-download")
    chunks = RowChunks(stream, block_size)
    Result = tuple[pa.Table | bytes | None, int]
    pending: deque[tuple[memoryview | None, Future[Result]]] = deque()

    def done() -> Iterator[tuple[bytes, int]]:
        chunk, future = pending.popleft()
        result = future.result()
        if chunk is not None:
            chunks.release(chunk)  # parsed: its buffer may take the next chunk
        yield from out(result)

    try:
        if arrow:
            # Buffered: pyarrow takes a short read for the end of the stream, and a raw
            # stream (storage's reader) gives at most what one stripe has left.
            source = io.BufferedReader(stream, buffer_size=1 << 20)
            for batch in pa.ipc.open_stream(source, memory_pool=_POOL):
                # The copy holds every column: the filter then copies only the ones read.
                table = pa.Table.from_batches([batch]).select(plan.read)
                pending.append((None, pool.submit(plan.finish, table)))
                if len(pending) > threads:
                    yield from done()
        else:
            for chunk in chunks:
                if isinstance(chunk, Tail):
                    while pending:
                        yield from done()
                    for result in plan.tail(chunk, block_size):
                        yield from out(result)
                    break
                pending.append((chunk, pool.submit(plan.work, chunk)))
                # One chunk more than there are threads: a worker never waits for this thread.
                if len(pending) > threads:
                    yield from done()
        while pending:
            yield from done()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if fmt == "parquet" and not raw:
        if writer is None:
            empty = pa.schema([pa.field(c, pa.string()) for c in view.columns])
            writer = _parquet_writer(sink, empty)
        writer.close()
        yield sink.take(), 0


def _parquet_writer(sink: _Chunks, schema: pa.Schema) -> Any:
    # Imported here: loading Parquet support costs a CSV download's first byte 100 ms or more.
    import pyarrow.parquet as pq

    return pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema)


def _csv_name(name: str) -> str:
    if any(ch in name for ch in ',"\r\n'):
        return '"' + name.replace('"', '""') + '"'
    return name

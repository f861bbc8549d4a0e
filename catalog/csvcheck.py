"""Check an uploaded CSV file before it is published (SPEC workflow 1, issue 6 "Checking").

`check_csv(path)` reads the file once, in blocks, and returns a `CsvReport`: either what the
listing needs (columns with inferred types and null counts, row count, size, BOM, line endings)
or the problems a bank's staff member can act on, each naming the line and, where one is
known, the column. Memory is bounded by a few blocks whatever the size of the file. No Django:
the Celery task and the request handler call it with a path and a progress callback.

How one pass does everything:

* The raw bytes reach pyarrow's streaming CSV reader through `_Inspector`, a file object that
  looks at every block as pyarrow pulls it in: NUL bytes, UTF-8 validity (an incremental decode,
  skipped for pure-ASCII blocks) and line-ending counts. All of it runs in C (bytes methods, the
  codec, numpy), never a Python loop per byte or per row.
* pyarrow parses (RFC 4180 quoting; quoted values may hold commas, doubled quotes and line
  breaks) with `use_threads=False`, so rows arrive in file order and its invalid-row handler
  sees every row whose width differs from the header's.
* Every column is read as a string and its type is narrowed batch by batch with vectorised
  `pyarrow.compute` casts and matches, so the answer covers all rows, not the first block.

Decisions (each is tested in `tests/test_csvcheck.py`):

* Encoding: UTF-8 only. A UTF-8 byte order mark is accepted and noted (`had_bom`). The first
  invalid byte ends the check with its line; what follows would be noise until the file is
  saved again as "CSV UTF-8".
* Line numbers are physical lines of the file, counted from 1 at the header, as a text editor
  shows them: a quoted value with line breaks makes one row span several lines, and a row's
  problem names the line the row starts on. pyarrow's `InvalidRow.number` is not that: it counts
  *records* (the header is 1, a multi-line row counts once), so `_Lines` turns record numbers
  into lines by adding the line breaks held inside earlier values.
* Line endings: LF, CRLF or a mix of both are accepted; the mix is noted as "mixed" (Excel on
  Windows writes CRLF between rows and LF inside cells; files appended to on another system mix
  them too, and the rows are still unambiguous). Every line break is counted, inside quoted
  values too. A file whose lines end with a lone CR (classic Mac OS) is refused, because a
  line number would then mean nothing in most editors.
* Blank rows: a row with no value at all (an empty line, or only commas) carries nothing. It is
  skipped, not counted in `row_count`, and reported as `blank_rows`. pyarrow cannot tell an
  empty line from ",,," once parsed, so both are treated alike.
* Types, from narrowest: "integer" (64-bit, no leading zeros: "007" is a code, kept as text) ⊂
  "decimal" (finite numbers, "1.5", "-2", "1e6"); "boolean" (true/false/yes/no in lower, Title
  or UPPER case; 0/1 stay integers, Y/N stay text); "date" (ISO 8601 YYYY-MM-DD, a real calendar
  day) ⊂ "timestamp" (a date with a time hh:mm[:ss[.fraction]] after "T" or a space, optionally
  "Z" or ±hh:mm, mixed with plain dates); anything else is "text". Empty cells are null and do
  not vote; a column with no values at all is "text". Numbers with leading zeros ("007",
  "00.5") are codes whose zeros matter: text.
* A NUL byte in the first 8000 bytes or on the header line makes the file binary (git's rule);
  later it is reported with its line. A header of one column holding ";", a tab or "|" is
  refused as a file with another separator. A row longer than a block (4 MiB) is refused with
  the line it starts on: it is almost always a missing closing quote.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import functools
import io
import os
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty, Queue
from typing import BinaryIO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

MAX_COLUMNS = 1000
MAX_NAME_CHARS = 128  # a column name: it goes into schemas, filters, ledger entries and pages
# All the names together, in UTF-8 bytes: the ledger entries of a listing and of its requests
# and grants list the columns, and an entry holds at most 64 KiB (ledger.services).
MAX_HEADER_BYTES = 16384
MAX_PROBLEMS = 20
# 4 MiB blocks: large enough that per-block costs (Python, kernel dispatch) stay a few percent,
# small enough to stay in cache (16-32 MiB measured slower on the loan benchmark) and to keep
# the peak near 100 MiB above the interpreter's: a few blocks read ahead, one being parsed, one
# queued and one being typed (bench/catalog_check.py). A row longer than a block is refused
# with its line (see _Checker._parse_error).
BLOCK_SIZE = 4 << 20
# How much of the file's start is read before pyarrow sees it, to find the header line: a
# 10,000-column header is refused from this alone, without parsing the rest of the file.
_HEADER_PEEK = 1 << 20
_PEEK_STEP = 64 << 10
# A NUL byte this early (git's rule for "binary") or on the header line means the file is not
# text at all; later, it is a damaged line and is reported with its number.
_BINARY_SNIFF = 8000
_READ_AHEAD = 3  # pyarrow stalls with fewer than two blocks beyond the one it parses
_COUNT_STEP = 1 << 20

ColumnType = Literal["integer", "decimal", "boolean", "date", "timestamp", "text"]
# The types a column can be narrowed to, most specific first within each family.
_TYPED: tuple[ColumnType, ...] = ("integer", "decimal", "boolean", "date", "timestamp")
LineEndings = Literal["lf", "crlf", "mixed", "none"]
Progress = Callable[[int, int], None]

BINARY_FILE = "This looks like a binary file, not a CSV text file"
EMPTY_FILE = "The file is empty"
HEADER_ONLY = "The file has a header but no data rows"

_BOM = codecs.BOM_UTF8
_TRUE_FALSE = ["true", "false", "True", "False", "TRUE", "FALSE"]
_YES_NO = ["yes", "no", "Yes", "No", "YES", "NO"]
_BOOLEANS = pa.array(_TRUE_FALSE + _YES_NO, pa.string())
_TIMESTAMP = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ]([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9](\.[0-9]{1,9})?)?)?"
    r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$"
)
# Values checked before a whole batch: a column of text fails a regex or set test on its first
# values, so the full-length vectorised test only runs for columns that may pass it.
_PROBE = 64


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file, said so that the person who made it can fix it.

    `line` is the physical line (1 = the header), `column` the header name it concerns; either
    is None when the problem is about the whole file or the line holds no single column.
    """

    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column “{self.column}”")
        return f"{', '.join(where)}: {self.message}" if where else self.message


@dataclass(frozen=True)
class ColumnInfo:
    """A column of the checked file: its header name, inferred type and count of empty cells.

    `min`/`max` are set where they come free with the type test: integers (int), decimals
    (float, for display) and dates (datetime.date); None otherwise.
    """

    name: str
    type: ColumnType
    null_count: int
    min: int | float | datetime.date | None = None
    max: int | float | datetime.date | None = None


@dataclass(frozen=True)
class CsvReport:
    """What `check_csv` found. `ok` is True exactly when `problems` is empty.

    `problems` holds the first `max_problems` problems in file order and `more_problems` how
    many more were found. `columns` and `row_count` describe the file as far as it was read:
    complete when `ok`, partial or empty otherwise.
    """

    ok: bool
    problems: list[Problem]
    more_problems: int
    columns: list[ColumnInfo]
    row_count: int
    size_bytes: int
    had_bom: bool
    line_endings: LineEndings
    blank_rows: int = 0


class _Stop(Exception):
    """Raised from inside the reader when a problem makes reading further pointless."""


@dataclass
class _Problems:
    limit: int
    first: list[Problem] = field(default_factory=list)
    more: int = 0

    def add(self, line: int | None, column: str | None, message: str) -> None:
        if len(self.first) < self.limit:
            self.first.append(Problem(line, column, message))
        else:
            self.more += 1

    def __bool__(self) -> bool:
        return bool(self.first) or self.more > 0


class _Inspector(io.RawIOBase):
    """The file as pyarrow reads it, checked block by block on the way through.

    pyarrow calls `read` from its own I/O thread, a block ahead of the parser, so these checks
    overlap with parsing. Bytes read early to find the header (`peek_header`) are kept and
    served to pyarrow first: every byte is read from disk and inspected exactly once. A problem
    that ends the check (a NUL byte, invalid UTF-8) is kept in `stop` and `_Stop` is raised out
    of `read`; pyarrow passes it through to the thread iterating the reader.
    """

    def __init__(self, raw: BinaryIO, size: int) -> None:
        super().__init__()
        self._raw = raw
        self.size = size
        self._held = b""  # read and inspected, not yet handed to pyarrow
        self.done = 0  # bytes read from disk
        self.newlines = 0  # b"\n" seen so far: the line number of the next byte is this + 1
        self.crlf = 0
        self._last_cr = False
        self._last_byte = 10  # an empty file needs no line end added
        self._utf8_tail = b""  # an incomplete UTF-8 sequence at the end of the last block
        self.first = b""  # the start of the file: BOM, file signatures
        self.stop: Problem | None = None
        # pyarrow's I/O thread reads ahead without limit: a 1 GiB file would be read into
        # memory while the parser works on the first blocks. `read` waits until the parser
        # is at most _READ_AHEAD blocks behind (one batch comes out of every block).
        self._pace = threading.Condition()
        self._reads = 0
        self._parsed = 0
        self.released = False
        self.parser_blocked = False  # the parser waits for the consumer, not for data
        self.unpaced = 0  # reads let through by the timeout (0 unless pyarrow changes)

    def parsed(self) -> None:
        """Called by the parsing thread after each batch: lets the reader run one block on."""
        with self._pace:
            self._parsed += 1
            self._pace.notify_all()

    def release(self) -> None:
        """End reading (the check is over): a waiting or later `read` raises `_Stop`."""
        with self._pace:
            self.released = True
            self._pace.notify_all()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = max(self.size - self.done, 0) + len(self._held)
        with self._pace:
            while not self.released and self._reads - self._parsed > _READ_AHEAD:
                # A parser that makes no progress for a second while not waiting for the
                # consumer must be waiting for data, in a read pattern this pacing did not
                # foresee: read on. At worst memory grows by a block, the check never hangs.
                if not self._pace.wait(timeout=1.0) and not self.parser_blocked:
                    self.unpaced += 1
                    break
            if self.released:  # the check is over: pyarrow's read-ahead stops here
                raise _Stop
            self._reads += 1
        if self._held:
            out, self._held = self._held[:size], self._held[size:]
            if len(out) < size and not self._held:
                out += self._take(size - len(out))
        else:
            out = self._take(size)
        if not self._held and self.done >= self.size and self._last_byte not in b"\n\r":
            # pyarrow refuses a first block without a line end ("cannot infer number of
            # columns"), so a file of one unterminated line gets one here, after the checks.
            self._last_byte = 10
            out += b"\n"
        return out

    def peek_header(self) -> bytes:
        """Read up to the end of the first line (or _HEADER_PEEK bytes) and keep it for pyarrow."""
        parts: list[bytes] = []
        total = 0
        while total < _HEADER_PEEK:
            block = self._take(_PEEK_STEP)
            if not block:
                break
            parts.append(block)
            total += len(block)
            if b"\n" in block or b"\r" in block:
                break
        self._held = b"".join(parts)
        return self._held

    def _take(self, size: int) -> bytes:
        if self.stop is not None:
            raise _Stop
        block = self._raw.read(size)
        if not self.done:
            self.first = block[:_PEEK_STEP]
        self._inspect(block)
        self.done += len(block)
        return block

    def _inspect(self, block: bytes) -> None:
        if not block:
            if self._utf8_tail:  # the file ends inside a multi-byte character
                self._stop_utf8(b"", 0, self._utf8_tail[0], self.newlines)
            return
        lines_before = self.newlines
        self._count_line_ends(block)
        nul = block.find(b"\0")  # memchr
        if nul >= 0:
            line = lines_before + block.count(b"\n", 0, nul) + 1
            if self.done + nul < _BINARY_SNIFF or line == 1:
                self.stop = Problem(None, None, _binary_message(self.first))
            else:
                self.stop = Problem(
                    line,
                    None,
                    "the line holds a NUL (zero) byte, which a CSV text file cannot contain;"
                    " is part of the file binary or damaged?",
                )
            raise _Stop
        if self._utf8_tail or not block.isascii():
            data = self._utf8_tail + block
            try:
                # Strict decoding in C; the decoded text is thrown away. final=False keeps a
                # multi-byte character split across two blocks for the next call.
                _, used = codecs.utf_8_decode(data, "strict", False)
            except UnicodeDecodeError as exc:
                at = max(exc.start - len(self._utf8_tail), 0)
                self._stop_utf8(block, at, data[exc.start], lines_before)
            self._utf8_tail = data[used:]

    def _count_line_ends(self, block: bytes) -> None:
        data = np.frombuffer(block, dtype=np.uint8)
        for at in range(0, data.size, _COUNT_STEP):  # small temporaries, not a block's worth
            self.newlines += int(np.count_nonzero(data[at : at + _COUNT_STEP] == 10))
        if self._last_cr and data[0] == 10:
            self.crlf += 1
        if b"\r" in block:  # memchr: LF-only files skip the rest
            crs = np.flatnonzero(data[:-1] == 13)
            self.crlf += int(np.count_nonzero(data[crs + 1] == 10))
        self._last_cr = bool(data[-1] == 13)
        self._last_byte = int(data[-1])

    def _stop_utf8(self, block: bytes, at: int, byte: int, lines_before: int) -> None:
        start = block.rfind(b"\n", 0, at) + 1
        before = block[max(start, at - 30) : at].decode("utf-8", "replace").strip()
        near = f" after “{before}”" if before else " at the start of the line"
        self.stop = Problem(
            lines_before + block.count(b"\n", 0, at) + 1,
            None,
            f"the text is not valid UTF-8 (byte 0x{byte:02X}{near}); save the file as"
            " “CSV UTF-8” and upload it again",
        )
        raise _Stop

    @property
    def line_endings(self) -> LineEndings:
        lf = self.newlines - self.crlf
        if self.crlf and lf:
            return "mixed"
        if self.crlf:
            return "crlf"
        return "lf" if lf else "none"


def _binary_message(start: bytes) -> str:
    if start.startswith(b"PK\x03\x04"):
        hint = " (it may be an Excel workbook or a ZIP archive: save it as “CSV UTF-8”)"
    elif start.startswith((b"\xd0\xcf\x11\xe0", b"%PDF")):
        hint = " (it may be an old Excel workbook or a PDF: save it as “CSV UTF-8”)"
    elif start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        hint = " (it is UTF-16 text: save it as “CSV UTF-8”)"
    else:
        hint = ""
    return BINARY_FILE + hint


class _Column:
    """The types still possible for one column, narrowed batch by batch.

    Families are disjoint for a non-empty value (an integer is never a date or a boolean), so
    once one test passes on a batch the others are dropped without being run.
    """

    __slots__ = ("candidates", "has_values", "max", "min", "name", "null_count")

    def __init__(self, name: str) -> None:
        self.name = name
        self.null_count = 0
        self.has_values = False
        self.candidates: set[str] = set(_TYPED)
        self.min: int | float | datetime.date | None = None
        self.max: int | float | datetime.date | None = None

    @property
    def type(self) -> ColumnType:
        return next((kind for kind in _TYPED if kind in self.candidates), "text")

    def info(self, blank_rows: int) -> ColumnInfo:
        kind = self.type if self.has_values else "text"
        keep = kind in ("integer", "decimal", "date")
        return ColumnInfo(
            name=self.name,
            type=kind,
            null_count=self.null_count - blank_rows,
            min=self.min if keep else None,
            max=self.max if keep else None,
        )

    def observe(self, values: pa.StringArray) -> bool:
        """Narrow the candidates by one batch; True if the column is still typed, not text."""
        self.null_count += values.null_count
        if values.null_count == len(values):
            return bool(self.candidates)
        self.has_values = True
        kinds = self.candidates
        if "integer" in kinds:
            numbers = _as_integers(values)
            if numbers is not None:
                self.candidates = kinds & {"integer", "decimal"}
                self._widen(numbers)
                return True
            kinds.discard("integer")
        if "decimal" in kinds:
            numbers = _as_decimals(values)
            if numbers is not None:
                self.candidates = {"decimal"}
                self._widen(numbers)
                return True
            kinds.discard("decimal")
            self.min = self.max = None
        if "boolean" in kinds:
            if _all_values(values, lambda v: pc.is_in(v, value_set=_BOOLEANS)):
                self.candidates = {"boolean"}
                return True
            kinds.discard("boolean")
        if "date" in kinds:
            dates = _cast_or_none(values, pa.date32())
            if dates is not None:
                self.candidates = kinds & {"date", "timestamp"}
                self._widen(dates)
                return True
            kinds.discard("date")
        if "timestamp" in kinds:
            if _is_timestamp(values):
                self.candidates = {"timestamp"}
                return True
            kinds.discard("timestamp")
        return False

    def _widen(self, values: pa.Array) -> None:
        low, high = pc.min_max(values).values()
        low, high = low.as_py(), high.as_py()
        if low is None:
            return
        if self.min is None or low < self.min:
            self.min = low
        if self.max is None or high > self.max:
            self.max = high


def _cast_or_none(values: pa.Array, to: pa.DataType) -> pa.Array | None:
    # A failing cast costs as much as a full one and more (Arrow builds the error after
    # visiting every value), so a short probe is cast first: a text column fails there.
    try:
        if len(values) > _PROBE:
            pc.cast(values.slice(0, _PROBE), to)
        return pc.cast(values, to)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _all_values(values: pa.Array, test: Callable[[pa.Array], pa.Array]) -> bool:
    """True if `test` holds for every non-null value (tested on a short probe first)."""
    for part in (values.slice(0, _PROBE), values) if len(values) > _PROBE else (values,):
        passed = pc.sum(test(part)).as_py() or 0
        if passed != len(part) - part.null_count:
            return False
    return True


def _zero_padded(values: pa.StringArray) -> bool:
    """True if some value is a number written with leading zeros ("007", "00.5"): a value of
    two or more characters whose first is "0" and whose second is not ".".

    Read straight from the string buffers with numpy (two byte gathers) instead of three
    pyarrow kernels and two boolean combinations: on the 100 MiB loan benchmark those took
    0.11 of the type-checking thread's 0.38 CPU seconds, this takes half as long.
    """
    if len(values) == 0:
        return False
    _, offsets_buf, data_buf = values.buffers()
    if data_buf is None:
        return False
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    starts = offsets[:-1]
    candidates = (offsets[1:] - starts) > 1
    if values.null_count:
        candidates &= np.asarray(values.is_valid())
    if not candidates.any():
        return False
    data = np.frombuffer(data_buf, dtype=np.uint8)
    first = starts[candidates]
    return bool(np.any((data[first] == 0x30) & (data[first + 1] != 0x2E)))  # "0", "."


def _as_integers(values: pa.Array) -> pa.Array | None:
    numbers = _cast_or_none(values, pa.int64())
    # "007" is a code (account, branch, postcode) whose zeros matter: the column is text.
    if numbers is None or _zero_padded(values):
        return None
    return numbers


def _as_decimals(values: pa.Array) -> pa.Array | None:
    numbers = _cast_or_none(values, pa.float64())
    # Arrow's float parser takes "nan", "inf" and overflowing exponents; none is a decimal.
    if numbers is None or not pc.all(pc.is_finite(numbers)).as_py() or _zero_padded(values):
        return None
    return numbers


def _is_timestamp(values: pa.Array) -> bool:
    # Arrow's ISO 8601 parser is the test: YYYY-MM-DD, "T" or a space, hh[:mm[:ss[.fraction]]]
    # and, for the zoned cast, "Z" or ±hh[:mm]. Naive and zoned values mixed in one batch fail
    # both casts and get the same rule as a pattern, plus a cast of the date part for the
    # calendar (no 2024-02-30).
    for to in (pa.timestamp("us"), pa.timestamp("us", "UTC")):
        if _cast_or_none(values, to) is not None:
            return True
    if not _all_values(values, lambda v: pc.match_substring_regex(v, _TIMESTAMP)):
        return False
    return _cast_or_none(pc.utf8_slice_codeunits(values, 0, 10), pa.date32()) is not None


def _newlines_per_row(values: pa.StringArray) -> np.ndarray | None:
    """Line breaks inside each value of a string column, or None when there are none."""
    if len(values) == 0:
        return None
    _, offsets_buf, data_buf = values.buffers()
    if data_buf is None:
        return None
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[
        values.offset : values.offset + len(values) + 1
    ]
    start, end = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buf, dtype=np.uint8)[start:end]
    at = np.flatnonzero(data == 10)
    if at.size == 0:
        return None
    rows = np.searchsorted(offsets, at + start, side="right") - 1
    return np.bincount(rows, minlength=len(values))


@dataclass
class _BadRow:
    number: int  # pyarrow's record number: 1 is the header
    expected: int
    found: int
    breaks: int  # line breaks inside the row's text
    keep: bool  # False once the problem list is full: only counted


class _Lines:
    """Turn pyarrow's record numbers into physical line numbers.

    Records arrive in file order: the valid ones in batches, the invalid ones through the
    handler while the batch they belong to is parsed (so before it is returned). A record takes
    one line plus one for every line break inside its values, so the line a record starts on is
    1 + the records before it + the line breaks inside them. Blank lines are records too
    (`ignore_empty_lines=False`), which is what keeps this exact.
    """

    def __init__(self, problems: _Problems, names: Callable[[], list[str]]) -> None:
        self.record = 1  # the next record to place
        self.line = 1  # the line it starts on
        self.pending: deque[_BadRow] = deque()
        self._problems = problems
        self._names = names
        self.bad_rows = 0

    def invalid_row(self, row: pacsv.InvalidRow) -> str:
        self.bad_rows += 1
        text = row.text or ""
        self.pending.append(
            _BadRow(
                row.number,
                row.expected_columns,
                row.actual_columns,
                text.count("\n"),
                keep=len(self.pending) + len(self._problems.first) < self._problems.limit,
            )
        )
        return "skip"

    def batch(self, rows: int, breaks: Callable[[], np.ndarray | None]) -> None:
        """Place a batch of `rows` valid records; `breaks()` gives line breaks per row."""
        known: list[np.ndarray | None] = []

        def per_row() -> np.ndarray | None:
            if not known:
                known.append(breaks())
            return known[0]

        done = 0
        while self.pending and self.pending[0].number < self.record + (rows - done):
            bad = self.pending.popleft()
            skip = max(bad.number - self.record, 0)
            if skip:
                self._advance(skip, per_row(), done)
                done += skip
            self._report(bad)
        if rows > done:
            self._advance(rows - done, per_row(), done)

    def flush(self) -> None:
        """Place invalid records left after the last batch (rows at the very end)."""
        while self.pending:
            bad = self.pending.popleft()
            self.line += max(bad.number - self.record, 0)
            self.record = bad.number
            self._report(bad)

    def _advance(self, count: int, per_row: np.ndarray | None, start: int) -> None:
        self.record += count
        self.line += count
        if per_row is not None and count:
            self.line += int(per_row[start : start + count].sum())

    def _report(self, bad: _BadRow) -> None:
        line = self.line
        self.record += 1
        self.line += 1 + bad.breaks
        if not bad.keep:
            self._problems.more += 1
            return
        names = self._names()
        if bad.found < bad.expected:
            column = names[bad.found] if bad.found < len(names) else None
            message = (
                f"expected {bad.expected} values, found {bad.found}: the row ends before"
                " this column"
            )
        else:
            column = None
            message = (
                f"expected {bad.expected} values, found {bad.found}: a value that contains"
                " a comma must be put in double quotes"
            )
        if bad.breaks:
            message += (
                f" (the row runs over lines {line}–{line + bad.breaks}; is a closing"
                " double quote missing?)"
            )
        self._problems.add(line, column, message)


def check_csv(
    path: str | os.PathLike[str],
    *,
    max_columns: int = MAX_COLUMNS,
    max_problems: int = MAX_PROBLEMS,
    progress: Progress | None = None,
    block_size: int = BLOCK_SIZE,
) -> CsvReport:
    """Check the CSV file at `path` in one streaming pass and say what it holds or what is wrong.

    `progress(bytes_done, bytes_total)` is called from the calling thread after each block and
    once at the end (so it may use a database connection); an exception it raises ends the
    check and propagates. `block_size` is the size of the blocks pyarrow parses; a row longer
    than one block is refused. Bad content never raises: every problem is in the report.
    OSError from opening or reading the file propagates.
    """
    path = Path(path)
    size = path.stat().st_size
    problems = _Problems(max_problems)
    with path.open("rb", buffering=0) as raw:
        source = _Inspector(raw, size)
        checker = _Checker(source, problems, max_columns, block_size, progress)
        checker.run()
    if source.stop is not None:
        problems.add(source.stop.line, source.stop.column, source.stop.message)
    if progress is not None:
        progress(source.done, size)
    return CsvReport(
        ok=not problems,
        problems=list(problems.first),
        more_problems=problems.more,
        columns=checker.columns_info(),
        row_count=checker.row_count,
        size_bytes=size,
        had_bom=source.first.startswith(_BOM),
        line_endings=source.line_endings,
        blank_rows=checker.blank_rows,
    )


_END = object()


class _Checker:
    """One check: the header, then batches parsed on one thread and typed on this one.

    pyarrow parses with `use_threads=False` (rows in file order) on a helper thread while the
    calling thread narrows column types and places line numbers for the batch before: both
    spend their time in C++ without the GIL, so on two cores they overlap. The queue between
    them holds one batch and `_Inspector` paces pyarrow's reads, so memory stays at a few
    blocks whatever the size of the file.
    """

    def __init__(
        self,
        source: _Inspector,
        problems: _Problems,
        max_columns: int,
        block_size: int,
        progress: Progress | None,
    ) -> None:
        self.source = source
        self.problems = problems
        self.max_columns = max_columns
        self.block_size = block_size
        self.progress = progress
        self.columns: list[_Column] = []
        self.row_count = 0
        self.blank_rows = 0
        self.lines = _Lines(problems, lambda: [c.name for c in self.columns])

    def columns_info(self) -> list[ColumnInfo]:
        return [c.info(self.blank_rows) for c in self.columns]

    def run(self) -> None:
        try:
            start = self.source.peek_header()
        except _Stop:
            return
        if not self._precheck(start):
            return
        try:
            reader = self._open()
        except _Stop:
            return
        if reader is None:
            return
        queue: Queue[object] = Queue(maxsize=1)
        cancel = threading.Event()

        def parse() -> None:
            try:
                for batch in reader:
                    self.source.parsed()
                    self.source.parser_blocked = True
                    queue.put(batch)
                    self.source.parser_blocked = False
                    if cancel.is_set():
                        return
                queue.put(_END)
            except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
                queue.put(exc)

        parser = threading.Thread(target=parse, name="csvcheck-parse", daemon=True)
        parser.start()
        try:
            self._consume(queue)
        finally:
            cancel.set()
            self.source.release()
            while parser.is_alive():  # unblock a parser waiting on a full queue
                with contextlib.suppress(Empty):
                    queue.get_nowait()
                parser.join(0.01)

    def _consume(self, queue: Queue[object]) -> None:
        while True:
            item = queue.get()
            if item is _END:
                break
            if isinstance(item, _Stop):
                return  # the stop problem is added last, after what was found before it
            if isinstance(item, pa.ArrowInvalid):
                self._parse_error(item)
                return
            if isinstance(item, BaseException):
                raise item
            batch = item
            assert isinstance(batch, pa.RecordBatch)
            if not self.columns and batch.num_rows:
                if not self._read_header(batch):
                    return
                self.lines.batch(1, functools.partial(_row_breaks, batch.slice(0, 1)))
                batch = batch.slice(1)
            self._observe(batch)
            if self.progress is not None:
                self.progress(self.source.done, self.source.size)
        self.lines.flush()
        if self.columns and self.row_count == 0 and self.lines.bad_rows == 0:
            self.problems.add(None, None, HEADER_ONLY)

    def _precheck(self, start: bytes) -> bool:
        """Answers that need only the first line: empty, binary, CR-only, too many columns."""
        text = start.removeprefix(_BOM)
        if not text.strip(b" \t\r\n") and len(start) >= self.source.size:
            self.problems.add(None, None, EMPTY_FILE)
            return False
        end = text.find(b"\n")
        first = text[: end if end >= 0 else len(text)]
        if b"\r" in first.rstrip(b"\r"):
            self.problems.add(
                1,
                None,
                "the lines end with a lone carriage return (classic Mac OS); save the file"
                " with Windows (CRLF) or Unix (LF) line endings",
            )
            return False
        first = first.rstrip(b"\r")
        if not first.strip():
            self.problems.add(1, None, "the first line is empty; it must hold the column names")
            return False
        # A quick count of the header's fields, exact unless a name holds a line break: enough
        # to refuse a 10,000-column file before pyarrow parses anything.
        try:
            fields = next(csv.reader([first.decode("utf-8", "replace")]))
        except csv.Error:  # an unclosed quote: a name with a line break, counted by pyarrow
            fields = []
        if len(fields) > self.max_columns:
            self._too_many(len(fields), partial=end < 0 and len(start) < self.source.size)
            return False
        if len(fields) == 1:
            for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
                if sep in fields[0]:
                    self.problems.add(
                        1,
                        None,
                        f"the header has a single column “{fields[0][:60]}”: the file seems to"
                        f" separate values with {name}; save it with commas",
                    )
                    return False
        return True

    def _too_many(self, count: int, *, partial: bool = False) -> None:
        at_least = "at least " if partial else ""
        self.problems.add(
            1,
            None,
            f"the header has {at_least}{count:,} columns; a dataset may have at most"
            f" {self.max_columns:,}",
        )

    def _open(self) -> pacsv.CSVStreamingReader | None:
        # Generated names f0, f1, ... keep pyarrow away from empty or repeated header names,
        # which it would otherwise have to accept or reject; the header arrives as row 1 of the
        # first batch and is checked here. Every column is read as a string: pyarrow infers
        # types from the first block only, and a later value of another type would end the read.
        types = {f"f{i}": pa.string() for i in range(self.max_columns + 1)}
        try:
            return pacsv.open_csv(
                self.source,
                read_options=pacsv.ReadOptions(
                    use_threads=False,  # rows in file order: exact numbers for bad rows
                    block_size=self.block_size,
                    autogenerate_column_names=True,
                ),
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True,
                    ignore_empty_lines=False,  # blank lines stay records: see _Lines
                    invalid_row_handler=self.lines.invalid_row,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=types,
                    strings_can_be_null=True,
                    null_values=[""],
                    check_utf8=False,  # _Inspector has checked every byte already
                ),
            )
        except pa.ArrowInvalid as exc:
            self._parse_error(exc)
            return None

    def _read_header(self, batch: pa.RecordBatch) -> bool:
        if batch.num_columns > self.max_columns:
            self._too_many(batch.num_columns)
            return False
        names = [batch.column(i)[0].as_py() for i in range(batch.num_columns)]
        self.columns = [_Column(name or "") for name in names]
        seen: dict[str, list[int]] = {}
        for position, name in enumerate(names, start=1):
            key = (name or "").strip().casefold()
            if not key:
                self.problems.add(1, None, f"column {position} has no name")
            elif len(name) > MAX_NAME_CHARS:
                self.problems.add(
                    1,
                    name[:MAX_NAME_CHARS] + "…",  # not the whole of a name of a megabyte
                    f"column {position}'s name has {len(name):,} characters; a column name may"
                    f" have at most {MAX_NAME_CHARS}",
                )
            else:
                seen.setdefault(key, []).append(position)
        header_bytes = sum(len((name or "").encode("utf-8")) for name in names)
        if header_bytes > MAX_HEADER_BYTES:
            self.problems.add(
                1,
                None,
                f"the column names take {header_bytes:,} bytes together; a header may take at"
                f" most {MAX_HEADER_BYTES:,} bytes",
            )
            return False
        for positions in seen.values():
            if len(positions) > 1:
                spelled = [names[p - 1] for p in positions]
                listed = ", ".join(str(p) for p in positions[:-1]) + f" and {positions[-1]}"
                note = "" if len(set(spelled)) == 1 else " (ignoring case and spaces)"
                self.problems.add(
                    1,
                    spelled[0],
                    f"columns {listed} have the same name{note}; each column needs its own",
                )
        return True

    def _observe(self, batch: pa.RecordBatch) -> None:
        rows = batch.num_rows
        if rows == 0:
            self.lines.batch(0, lambda: None)
            return
        text_columns = []
        for column, values in zip(self.columns, batch.columns, strict=True):
            if not column.observe(values):
                text_columns.append(values)
        blank = 0
        if all(values.null_count for values in batch.columns):
            has_value = pc.is_valid(batch.column(0))
            for values in batch.columns[1:]:
                has_value = pc.or_(has_value, pc.is_valid(values))
            blank = rows - (pc.sum(has_value).as_py() or 0)
        self.blank_rows += blank
        self.row_count += rows - blank
        # Only text columns can hold line breaks: a value that passed a type test has none.
        self.lines.batch(rows, lambda: _sum_breaks(text_columns, rows))

    def _parse_error(self, exc: pa.ArrowInvalid) -> None:
        if self.source.stop is not None:  # pyarrow wrapped our _Stop: the problem is kept
            return
        self.lines.flush()
        if "straddling" in str(exc):
            self.problems.add(
                self.lines.line,
                None,
                f"a row starting here is longer than {_size_text(self.block_size)}; is a"
                " closing double quote missing?",
            )
        else:
            self.problems.add(self.lines.line, None, f"the file cannot be read as CSV ({exc})")


def _size_text(size: int) -> str:
    return f"{size >> 20} MiB" if size % (1 << 20) == 0 else f"{size:,} bytes"


def _row_breaks(batch: pa.RecordBatch) -> np.ndarray | None:
    return _sum_breaks(list(batch.columns), batch.num_rows)


def _sum_breaks(columns: list[pa.Array], rows: int) -> np.ndarray | None:
    total: np.ndarray | None = None
    for values in columns:
        per_row = _newlines_per_row(values)
        if per_row is not None:
            total = per_row if total is None else total + per_row
    return total

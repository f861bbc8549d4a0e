"""The download's data path without a database: cutting the CSV into whole rows, the threaded
pipeline against a one-piece reference, and the pseudonymizer's cache."""

import csv
import dataclasses
import hashlib
import hmac
import io

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from access import projection, rowfilter
from catalog import arrow_copy as copies

SCHEMA = [
    {"name": "id", "type": "integer"},
    {"name": "note", "type": "text"},
    {"name": "amount", "type": "decimal"},
    {"name": "opened", "type": "date"},
]
KEY = bytes(range(32))


def csv_bytes(rows: list[list[str]], *, crlf: bool = False) -> bytes:
    """RFC 4180: a value holding a comma, quote, CR or LF is quoted (the csv module leaves a
    lone CR bare when lines end with LF), quotes inside doubled."""

    def value(text: str) -> str:
        if any(ch in text for ch in ',"\r\n'):
            return '"' + text.replace('"', '""') + '"'
        return text

    end = "\r\n" if crlf else "\n"
    lines = [[c["name"] for c in SCHEMA], *rows]
    return "".join(",".join(map(value, line)) + end for line in lines).encode()


def reference(body: bytes, view: projection.Projection) -> bytes:
    """The view the slow, obvious way: the whole file in one pyarrow read, filtered, masked,
    written in one go."""
    plan = projection.ProjectionPlan(view, "csv")
    table = pacsv.read_csv(
        io.BytesIO(body),
        parse_options=plan.parse_options,
        convert_options=plan.convert_options,
    )
    shaped = plan.shape(table)
    header = ",".join(view.columns).encode() + b"\n"
    return header + (plan.encode(shaped) if shaped is not None else b"")


def download(
    body: bytes, view: projection.Projection, *, block_size: int, threads: int = 2
) -> bytes:
    pieces = projection.view_pieces(
        io.BytesIO(body), view, "csv", block_size=block_size, threads=threads
    )
    return b"".join(piece for piece, _ in pieces)


def arrow_copy(body: bytes, schema: list[dict] = SCHEMA) -> bytes:
    sink = io.BytesIO()
    copies.write_arrow_copy(io.BytesIO(body), schema, sink)
    return sink.getvalue()


class Trickle(io.RawIOBase):
    """A raw stream that hands out at most `most` bytes a read, as storage's reader hands out
    at most what is left of a stripe."""

    def __init__(self, data: bytes, most: int = 777) -> None:
        self.data, self.most, self.at = data, most, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.most, len(self.data) - self.at)
        buffer[:n] = self.data[self.at : self.at + n]
        self.at += n
        return n


def download_from_arrow(
    body: bytes, view: projection.Projection, fmt: str = "csv", threads: int = 2
) -> bytes:
    pieces = projection.view_pieces(
        Trickle(arrow_copy(body)), view, fmt, block_size=1, threads=threads, arrow=True
    )
    return b"".join(piece for piece, _ in pieces)


def make_view(**kw) -> projection.Projection:  # type: ignore[no-untyped-def]
    values = {
        "columns": ["id", "note", "amount"],
        "filter": "",
        "masks": {},
        "key": KEY,
        "schema": SCHEMA,
    } | kw
    return projection.Projection(**values)


NOTES = st.text(
    alphabet=st.sampled_from(list("ab ,\"\n\r\t'é=+-@")) | st.characters(codec="utf-8"),
    max_size=12,
)
ROWS = st.lists(
    st.tuples(
        NOTES, st.sampled_from(["", "1.5", "250.00", "-3"]), st.sampled_from(["", "2024-02-29"])
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(rows=ROWS, block=st.integers(min_value=1, max_value=300), crlf=st.booleans())
def test_chunks_end_on_row_boundaries_whatever_the_values(rows, block, crlf):
    body = csv_bytes([[str(i), n, a, o] for i, (n, a, o) in enumerate(rows)], crlf=crlf)
    chunks = list(projection.row_chunks(io.BytesIO(body), block))
    assert all(isinstance(c, memoryview) for c in chunks)  # csv.writer quotes as RFC 4180 does
    assert b"".join(bytes(c) for c in chunks) == body[projection.header_end(body) :]
    # Every chunk alone holds whole rows: together they are the file's rows, in order.
    ids = []
    for chunk in chunks:
        table = projection.ProjectionPlan(make_view(), "csv").parse(chunk)
        ids += table.column("id").to_pylist()
    assert ids == list(range(len(rows)))


def escaped_reference(body: bytes, view: projection.Projection) -> bytes:
    """The spreadsheet-safe CSV the slow, obvious way: the raw view read back whole, and a '
    put before every text cell and header name that begins with = + - @ tab or CR, one by
    one in Python."""
    raw = dataclasses.replace(view, csv_safe=False)
    plan = projection.ProjectionPlan(raw, "csv")
    table = pacsv.read_csv(
        io.BytesIO(body), parse_options=plan.parse_options, convert_options=plan.convert_options
    )
    shaped = plan.shape(table)

    def safe(text):  # type: ignore[no-untyped-def]
        return "'" + text if text and text[0] in "=+-@\t\r" else text

    names = [safe(c) for c in view.columns]
    header = ",".join(projection._csv_name(n) for n in names).encode() + b"\n"
    if shaped is None:
        return header
    types = {c["name"]: c["type"] for c in view.schema}
    columns = []
    for name in view.columns:
        values = shaped.column(name)
        if types[name] == "text" and view.masks.get(name, "").split(":")[0] in ("", "truncate"):
            values = pa.array([None if v is None else safe(v) for v in values.to_pylist()])
        columns.append(values)
    return header + plan.encode(pa.table(columns, names=view.columns))


@settings(max_examples=60, deadline=None)
@given(
    rows=ROWS,
    block=st.integers(min_value=1, max_value=200),
    threads=st.integers(1, 3),
    masked=st.sampled_from(["", "truncate:2", "pseudonymize"]),
    arrow=st.booleans(),
)
def test_the_safe_csv_escapes_formulas_and_only_them(rows, block, threads, masked, arrow):
    body = csv_bytes([[str(i), n, a, o] for i, (n, a, o) in enumerate(rows)])
    view = make_view(
        columns=["id", "note", "amount", "opened"],
        filter="amount > 0 or note is null or amount < 0",
        masks={"note": masked} if masked else {},
    )
    if arrow:
        got = download_from_arrow(body, view, threads=threads)
    else:
        got = download(body, view, block_size=block, threads=threads)
    assert got == escaped_reference(body, view)
    # ?csv=raw: the exact values.
    raw = dataclasses.replace(view, csv_safe=False)
    assert download(body, raw, block_size=block, threads=threads) == reference(body, raw)


def test_formula_cells_and_names_get_a_quote_numbers_and_dates_do_not():
    schema = [*SCHEMA, {"name": "=cmd", "type": "text"}]
    body = (
        b"id,note,amount,opened,=cmd\n"
        b'1,"=HYPERLINK(""http://evil"",""x"")",-3,2024-01-01,+cmd|\' /C calc\'!A0\n'
        b'-2,@SUM(A1),-0.5,2024-01-02,"\tx"\n'
        b'3,plain,1,,"\rx"\n'
        b"4,-minus,2,,'quoted\n"
    )
    view = projection.Projection(
        columns=["id", "note", "amount", "opened", "=cmd"],
        filter="",
        masks={},
        key=KEY,
        schema=schema,
    )
    out = b"".join(
        p for p, _ in projection.view_pieces(io.BytesIO(body), view, "csv", block_size=64)
    )
    rows = list(csv.reader(io.StringIO(out.decode(), newline="")))
    assert rows == [
        ["id", "note", "amount", "opened", "'=cmd"],
        ["1", '\'=HYPERLINK("http://evil","x")', "-3", "2024-01-01", "'+cmd|' /C calc'!A0"],
        ["-2", "'@SUM(A1)", "-0.5", "2024-01-02", "'\tx"],
        ["3", "plain", "1", "", "'\rx"],
        ["4", "'-minus", "2", "", "'quoted"],
    ]
    raw = dataclasses.replace(view, csv_safe=False)
    out = b"".join(
        p for p, _ in projection.view_pieces(io.BytesIO(body), raw, "csv", block_size=64)
    )
    assert out.startswith(b"id,note,amount,opened,=cmd\n") and b'"=HYPERLINK(' in out


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, block=st.integers(min_value=1, max_value=200), threads=st.integers(1, 3))
def test_the_threaded_download_is_the_one_piece_view(rows, block, threads):
    body = csv_bytes([[str(i), n, a, o] for i, (n, a, o) in enumerate(rows)])
    view = make_view(
        columns=["id", "note", "opened"],
        filter="amount > 0 or note is null",
        masks={"note": "pseudonymize", "opened": "year_only"},
    )
    assert download(body, view, block_size=block, threads=threads) == reference(body, view)


@settings(max_examples=60, deadline=None)
@given(rows=ROWS, threads=st.integers(1, 3), crlf=st.booleans(), batch=st.integers(64, 400))
def test_the_download_from_the_arrow_copy_is_the_download_from_the_csv(rows, threads, crlf, batch):
    """Same bytes, whichever copy of the version a download reads, for any values, line ends
    and record batch sizes."""
    body = csv_bytes([[str(i), n, a, o] for i, (n, a, o) in enumerate(rows)], crlf=crlf)
    view = make_view(
        columns=["id", "note", "opened"],
        filter="amount > 0 or note is null",
        masks={"note": "pseudonymize", "opened": "year_only"},
    )
    original = copies.ARROW_BATCH_BYTES
    # Many small batches (each must hold a whole row): their order and seams are tested.
    copies.ARROW_BATCH_BYTES = batch
    try:
        got = download_from_arrow(body, view, threads=threads)
    finally:
        copies.ARROW_BATCH_BYTES = original
    assert got == reference(body, view)


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "parquet"])
def test_every_format_reads_the_same_from_either_copy(fmt):
    body = b"\xef\xbb\xbf" + csv_bytes(
        [[str(i), f"n{i % 7}" if i % 5 else "", f"{i}.5", "2024-02-29"] for i in range(500)]
    )
    view = make_view(filter="amount >= 100", masks={"note": "truncate:1"})
    from_csv = b"".join(
        p for p, _ in projection.view_pieces(io.BytesIO(body), view, fmt, block_size=700)
    )
    from_arrow = download_from_arrow(body, view, fmt)
    if fmt == "parquet":  # the same rows; the row groups follow the pieces, which differ
        import pyarrow.parquet as pq

        from_csv, from_arrow = (pq.read_table(pa.BufferReader(b)) for b in (from_csv, from_arrow))
        assert from_csv.num_rows > 0
    assert from_csv == from_arrow


def test_the_arrow_copy_holds_every_column_as_downloads_read_it():
    body = csv_bytes([["1", "x", "2.50", "2024-01-03"], ["2", "", "", ""]])
    table = pa.ipc.open_stream(arrow_copy(body)).read_all()
    assert table.schema.names == ["id", "note", "amount", "opened"]
    assert [str(t) for t in table.schema.types] == ["int64", "string", "string", "date32[day]"]
    assert table.column("amount").to_pylist() == ["2.50", None]  # decimals keep their digits


def test_an_arrow_copy_is_refused_for_a_header_that_is_not_the_schema():
    with pytest.raises(ValueError, match="not the schema"):
        arrow_copy(b"id,note,amount,when\n1,x,2,\n")
    with pytest.raises(pa.ArrowInvalid):  # a value that is not its column's type
        arrow_copy(b"id,note,amount,opened\nx1,x,2,\n")


@pytest.mark.parametrize(
    "rows",
    [
        b'1,5" screen,1,2024-01-01\n2,"a\nb",2,\n',  # a quote inside an unquoted value
        b'1,"ab"cd,1,\n2,"x\ny",2,\n',  # text after a closing quote
    ],
)
def test_quotes_outside_rfc_4180_go_to_pyarrows_own_reader(rows):
    body = b"id,note,amount,opened\n" + b"3,plain,1,\n" * 30 + rows * 20
    chunks = list(projection.row_chunks(io.BytesIO(body), 64))
    assert isinstance(chunks[0], memoryview) and isinstance(chunks[-1], projection.Tail)
    view = make_view(columns=["id", "note"])
    assert download(body, view, block_size=64) == reference(body, view)


@pytest.mark.parametrize(
    ("body", "rows"),
    [
        (b"", []),
        (b"id,note,amount,opened", []),
        (b"id,note,amount,opened\n", []),
        (b"\xef\xbb\xbfid,note,amount,opened\n1,x,2,\n", [1]),
        (b'id,"no\nte",amount,opened\r\n1,x,2,\r\n2,y,3,', [1, 2]),  # a header over two lines
        (b"id,note,amount,opened\n1,x,2,\n\n2,y,3,\n", [1, 2]),  # an empty line is skipped
    ],
)
def test_headers_byte_order_marks_and_last_lines(body, rows):
    for block in (1, 3, 64):
        out = download(body, make_view(columns=["id"]), block_size=block)
        assert out == b"id\n" + b"".join(b"%d\n" % r for r in rows)


def test_a_row_longer_than_a_block_grows_the_buffer():
    body = csv_bytes([["1", "x" * 5000, "1", ""], ["2", "y", "2", ""]])
    chunks = list(projection.row_chunks(io.BytesIO(body), 64))
    assert b"".join(bytes(c) for c in chunks) == body[projection.header_end(body) :]
    assert download(body, make_view(), block_size=64) == reference(body, make_view())


def test_closing_the_download_early_stops_it():
    body = csv_bytes([[str(i), "x", "1", ""] for i in range(5000)])
    stream = io.BytesIO(body)
    pieces = projection.view_pieces(stream, make_view(), "csv", block_size=256, threads=2)
    next(pieces), next(pieces)
    pieces.close()
    assert stream.tell() < len(body)  # the rest was never read


def test_pseudonyms_are_hmac_sha256_and_the_cache_changes_nothing():
    values = pa.array(["Ann", None, "Bob", "Ann", "", "Élodie"] * 3)
    small = projection.Pseudonymizer(KEY, 16, cache_size=2)  # cleared again and again
    big = projection.Pseudonymizer(KEY, 16)
    expected = [
        None if v is None else hmac.new(KEY, v.encode(), hashlib.sha256).hexdigest()[:16]
        for v in values.to_pylist()
    ]
    for _ in range(3):
        assert small(values).to_pylist() == expected
        assert big(pa.chunked_array([values[:7], values[7:]])).to_pylist() == expected
    assert len(big.known[0]) == 4  # Ann, Bob, the empty string, Élodie
    assert projection.Pseudonymizer(b"other" * 8, 16)(values).to_pylist() != expected
    assert pc.all(pc.equal(big(pa.array([1, 2])), small(pa.array(["1", "2"])))).as_py()


def test_the_filter_runs_on_the_arrays_the_download_reads():
    body = csv_bytes([["1", "a", "10", "2024-01-01"], ["2", "b", "", ""], ["3", "c", "5", ""]])
    view = make_view(columns=["id"], filter="amount >= 5 and opened is null")
    node = rowfilter.parse(view.filter, SCHEMA)
    assert rowfilter.columns_used(node) == {"amount", "opened"}
    assert download(body, view, block_size=16) == b"id\n3\n"


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.none() | NOTES, max_size=30),
    start=st.integers(0, 10),
    large=st.booleans(),
)
def test_spreadsheet_safe_reads_the_buffers_right(values, start, large):
    """The numpy test of first bytes against the per-value rule, on slices (offsets not
    from 0), nulls and large strings."""
    array = pa.array(values, pa.large_string() if large else pa.string()).slice(start)
    expected = [
        None if v is None else ("'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v)
        for v in array.to_pylist()
    ]
    assert projection.spreadsheet_safe(array).to_pylist() == expected

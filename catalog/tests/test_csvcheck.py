"""check_csv, case by case: every answer the issue asks for, with the exact line and column.

No database: the checker is a pure module. Files are written as bytes so that line endings,
BOMs and broken encodings are exactly what the test says.
"""

from __future__ import annotations

import csv
import datetime
import io
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog.csvcheck import (
    BINARY_FILE,
    EMPTY_FILE,
    HEADER_ONLY,
    CsvReport,
    Problem,
    _zero_padded,
    check_csv,
)


def check(tmp_path: Path, data: bytes | str, **options: Any) -> CsvReport:
    path = tmp_path / "upload.csv"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return check_csv(path, **options)


def only_problem(report: CsvReport) -> Problem:
    assert not report.ok
    assert len(report.problems) == 1, report.problems
    assert report.more_problems == 0
    return report.problems[0]


def types(report: CsvReport) -> dict[str, str]:
    return {c.name: c.type for c in report.columns}


# --- a good file -------------------------------------------------------------------------


def test_a_good_file_is_described(tmp_path):
    report = check(
        tmp_path,
        "loan_id,amount,start,secured,updated,purpose\n"
        "1,1200.50,2024-01-05,true,2024-01-05T10:00:00Z,Home\n"
        "2,,2024-02-29,false,2024-01-06T11:30:00+02:00,\n"
        "3,99.99,2023-12-31,true,2024-01-07T00:00:00Z,Car\n",
    )
    assert report.ok and report.problems == [] and report.more_problems == 0
    assert report.row_count == 3
    assert report.size_bytes == (tmp_path / "upload.csv").stat().st_size
    assert (report.had_bom, report.line_endings, report.blank_rows) == (False, "lf", 0)
    assert types(report) == {
        "loan_id": "integer",
        "amount": "decimal",
        "start": "date",
        "secured": "boolean",
        "updated": "timestamp",
        "purpose": "text",
    }
    by_name = {c.name: c for c in report.columns}
    assert [c.null_count for c in report.columns] == [0, 1, 0, 0, 0, 1]
    assert (by_name["loan_id"].min, by_name["loan_id"].max) == (1, 3)
    assert (by_name["amount"].min, by_name["amount"].max) == (99.99, 1200.5)
    assert by_name["start"].min == datetime.date(2023, 12, 31)
    assert by_name["start"].max == datetime.date(2024, 2, 29)
    assert by_name["purpose"].min is None


def test_problem_text_names_line_and_column():
    assert str(Problem(17, "amount", "expected 5 values, found 6")) == (
        "line 17, column “amount”: expected 5 values, found 6"
    )
    assert str(Problem(1, None, "column 2 has no name")) == "line 1: column 2 has no name"
    assert str(Problem(None, None, EMPTY_FILE)) == EMPTY_FILE


# --- whole-file answers --------------------------------------------------------------------


def test_empty_file(tmp_path):
    report = check(tmp_path, b"")
    assert only_problem(report) == Problem(None, None, EMPTY_FILE)
    assert (report.row_count, report.columns, report.line_endings) == (0, [], "none")


@pytest.mark.parametrize("data", [b"\xef\xbb\xbf", b"\n\n", b"\xef\xbb\xbf \r\n"])
def test_a_file_of_nothing_but_a_bom_or_blank_lines_is_empty(tmp_path, data):
    assert only_problem(check(tmp_path, data)) == Problem(None, None, EMPTY_FILE)


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"PK\x03\x04\x14\x00\x06\x00",  # an .xlsx workbook is a ZIP archive
        "id,name\n1,Zoë\n".encode("utf-16"),
        b"id,amount\n1,2\x00\n",  # a NUL in the first 8000 bytes: not a text file at all
    ],
)
def test_binary_file_gets_one_clear_problem(tmp_path, data):
    problem = only_problem(check(tmp_path, data))
    assert problem.message.startswith(BINARY_FILE)
    assert (problem.line, problem.column) == (None, None)


def test_a_nul_byte_far_into_a_text_file_is_named_by_line(tmp_path):
    rows = "".join(f"{i},{i * 2}\n" for i in range(2000))  # > 8000 bytes of good text first
    report = check(tmp_path, "a,b\n" + rows + "2000,4\x00000\n")
    problem = only_problem(report)
    assert (problem.line, problem.column) == (2002, None)
    assert "NUL" in problem.message


def test_header_only(tmp_path):
    report = check(tmp_path, "id,amount\n")
    assert only_problem(report) == Problem(None, None, HEADER_ONLY)
    assert [c.name for c in report.columns] == ["id", "amount"]
    assert report.row_count == 0


def test_header_followed_only_by_blank_lines_has_no_data_rows(tmp_path):
    report = check(tmp_path, "id,amount\r\n\r\n,\r\n")
    assert only_problem(report) == Problem(None, None, HEADER_ONLY)
    assert report.blank_rows == 2


def test_header_without_a_line_end(tmp_path):
    report = check(tmp_path, "id,amount")
    assert only_problem(report) == Problem(None, None, HEADER_ONLY)
    assert report.line_endings == "none"


def test_first_line_empty(tmp_path):
    problem = only_problem(check(tmp_path, "\nid,amount\n1,2\n"))
    assert (problem.line, problem.column) == (1, None)
    assert "first line is empty" in problem.message


def test_classic_mac_line_endings_are_refused(tmp_path):
    problem = only_problem(check(tmp_path, "id,amount\r1,2\r3,4\r"))
    assert (problem.line, problem.column) == (1, None)
    assert "carriage return" in problem.message


def test_semicolon_separated_file_is_refused(tmp_path):
    problem = only_problem(check(tmp_path, "id;amount;date\n1;2,50;2024-01-05\n"))
    assert (problem.line, problem.column) == (1, None)
    assert "semicolons" in problem.message


# --- encoding ------------------------------------------------------------------------------


def test_bom_is_accepted_and_noted(tmp_path):
    report = check(tmp_path, b"\xef\xbb\xbfid,name\r\n1,Zo\xc3\xab\r\n")
    assert report.ok and report.had_bom
    assert [c.name for c in report.columns] == ["id", "name"]  # no BOM in the first name


def test_invalid_utf8_names_its_line(tmp_path):
    latin1 = "id,name\n1,Ann\n2,Zoë\n3,Bob\n".encode("latin-1")
    problem = only_problem(check(tmp_path, latin1))
    assert (problem.line, problem.column) == (3, None)
    assert "not valid UTF-8" in problem.message and "0xEB" in problem.message
    assert "“2,Zo”" in problem.message


def test_utf8_character_split_across_blocks_is_fine(tmp_path):
    # 64-byte blocks: the two bytes of "ë" land in different reads of the file.
    body = "".join(f"{i},{'x' * (i % 50)}ë\n" for i in range(200))
    report = check(tmp_path, "id,name\n" + body, block_size=64)
    assert report.ok and report.row_count == 200


def test_invalid_utf8_in_a_later_block_names_its_line(tmp_path):
    good = b"".join(b"%d,Zo\xc3\xab\n" % i for i in range(300))
    report = check(tmp_path, b"id,name\n" + good + b"300,Zo\xeb\n", block_size=256)
    problem = only_problem(report)
    assert (problem.line, problem.column) == (302, None)


def test_file_ending_inside_a_utf8_character(tmp_path):
    problem = only_problem(check(tmp_path, b"id,name\n1,Zo\xc3"))
    assert (problem.line, problem.column) == (2, None)


# --- header --------------------------------------------------------------------------------


def test_empty_header_names_are_named_by_position(tmp_path):
    report = check(tmp_path, "id,,amount, \n1,2,3,4\n")
    assert report.problems == [
        Problem(1, None, "column 2 has no name"),
        Problem(1, None, "column 4 has no name"),
    ]


def test_duplicate_header_names_are_named(tmp_path):
    report = check(tmp_path, "id,amount,date,amount\n1,2,2024-01-01,3\n")
    assert report.problems == [
        Problem(1, "amount", "columns 2 and 4 have the same name; each column needs its own")
    ]


def test_duplicates_ignore_case_and_surrounding_spaces(tmp_path):
    report = check(tmp_path, "Amount,id, amount\n1,2,3\n")
    problem = only_problem(report)
    assert (problem.line, problem.column) == (1, "Amount")
    assert "columns 1 and 3" in problem.message and "ignoring case" in problem.message


def test_header_and_row_problems_come_in_file_order(tmp_path):
    report = check(tmp_path, "a,a\n1,2\n3\n")
    assert [(p.line, p.column) for p in report.problems] == [(1, "a"), (3, "a")]


def test_ten_thousand_columns_are_refused_fast_without_reading_the_file(tmp_path):
    header = ",".join(f"column_{i:05d}" for i in range(10_000))
    row = ",".join("12345" for _ in range(10_000))
    path = tmp_path / "wide.csv"
    with path.open("w") as f:
        f.write(header + "\n")
        for _ in range(300):  # ~18 MB that must not be parsed
            f.write(row + "\n")
    seen: list[tuple[int, int]] = []
    start = time.perf_counter()
    report = check_csv(path, progress=lambda done, total: seen.append((done, total)))
    elapsed = time.perf_counter() - start
    problem = only_problem(report)
    assert (problem.line, problem.column) == (1, None)
    assert "10,000 columns" in problem.message and "at most 1,000" in problem.message
    assert elapsed < 1.0
    done, total = seen[-1]
    assert total == path.stat().st_size and done < 1 << 20


@pytest.mark.parametrize(("columns", "ok"), [(4, True), (5, False)])
def test_column_limit_is_exact(tmp_path, columns, ok):
    header = ",".join(f"c{i}" for i in range(columns))
    report = check(tmp_path, header + "\n" + ",".join("1" * columns) + "\n", max_columns=4)
    assert report.ok is ok
    if not ok:
        assert report.problems[0].message == (
            "the header has 5 columns; a dataset may have at most 4"
        )


# --- row widths and line numbers ----------------------------------------------------------


def test_short_and_long_rows_are_named_by_line_and_column(tmp_path):
    report = check(
        tmp_path, "id,amount,date\n1,2,2024-01-01\n2,3\n3,4,2024-01-02,x\n4,5,2024-01-03\n"
    )
    assert report.problems == [
        Problem(3, "date", "expected 3 values, found 2: the row ends before this column"),
        Problem(
            4,
            None,
            "expected 3 values, found 4: a value that contains a comma must be put in double"
            " quotes",
        ),
    ]
    assert report.row_count == 2  # the good rows


def test_lines_count_the_breaks_inside_quoted_values(tmp_path):
    # pyarrow's InvalidRow.number counts records (header = 1, a multi-line row once): the bad
    # row below is its record 4 but line 7 of the file, which is what an editor shows.
    data = 'id,note,amount\n1,"two\nlines",5\n2,"three\r\nline\nnote",6\n3,7\n'
    problem = only_problem(check(tmp_path, data))
    assert (problem.line, problem.column) == (7, "amount")


def test_a_header_name_with_a_line_break_counts_its_lines(tmp_path):
    report = check(tmp_path, '"loan\nid",amount\n1,2\n3\n')
    assert [c.name for c in report.columns] == ["loan\nid", "amount"]
    problem = only_problem(report)
    assert (problem.line, problem.column) == (4, "amount")


def test_lines_count_blank_lines(tmp_path):
    problem = only_problem(check(tmp_path, "id,amount\n\n1,2\n\r\n\n2\n"))
    assert (problem.line, problem.column) == (6, "amount")


def test_a_bad_row_spanning_lines_is_named_by_its_first_line(tmp_path):
    data = 'id,note,amount\n1,ok,2\n2,"unclosed,3\n4,five,6\n'
    problem = only_problem(check(tmp_path, data))
    assert (problem.line, problem.column) == (3, "amount")
    assert "expected 3 values, found 2" in problem.message
    assert "lines 3–4" in problem.message and "closing double quote" in problem.message


def test_line_numbers_stay_exact_across_many_blocks(tmp_path):
    rows = []
    for i in range(1, 400):
        rows.append(f'{i},"multi\nline {i}",{i}' if i % 7 == 0 else f"{i},plain,{i}")
        if i % 50 == 0:
            rows.append("")  # a blank line now and then
    bad_after = {100, 250, 399}
    lines: list[str] = []
    expected = []
    line = 2
    for i, row in enumerate(rows):
        lines.append(row)
        line += row.count("\n") + 1
        if i + 1 in bad_after:
            lines.append("bad")
            expected.append(line)
            line += 1
    report = check(tmp_path, "id,note,amount\n" + "\n".join(lines) + "\n", block_size=256)
    assert [(p.line, p.column) for p in report.problems] == [(n, "note") for n in expected]


def test_twenty_problems_and_how_many_more(tmp_path):
    rows = "".join("1,2\n" if i % 2 else "1\n" for i in range(50))  # 25 short rows
    report = check(tmp_path, "a,b\n" + rows, block_size=64)
    assert len(report.problems) == 20 and report.more_problems == 5
    assert [p.line for p in report.problems] == list(range(2, 42, 2))
    report = check(tmp_path, "a,b\n" + rows, max_problems=3)
    assert len(report.problems) == 3 and report.more_problems == 22


def test_a_row_longer_than_a_block_is_named(tmp_path):
    data = "id,note\n1,short\n2,short\n3," + "x" * 5000 + "\n4,short\n"
    problem = only_problem(check(tmp_path, data, block_size=1024))
    assert (problem.line, problem.column) == (4, None)
    assert "longer than" in problem.message


# --- line endings and quoting --------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "endings", "rows"),
    [
        (b"a,b\n1,2\n", "lf", 1),
        (b"a,b\r\n1,2\r\n", "crlf", 1),
        (b"a,b\r\n1,2\n3,4\r\n", "mixed", 2),  # accepted: each line end is unambiguous
        (b"a,b\n1,2", "lf", 1),  # the last line may lack its line end
    ],
)
def test_line_endings(tmp_path, data, endings, rows):
    report = check(tmp_path, data)
    assert report.ok, report.problems
    assert (report.line_endings, report.row_count) == (endings, rows)


def test_crlf_split_across_blocks_is_one_line_end(tmp_path):
    body = "".join(f"{i},{'y' * (i % 13)}\r\n" for i in range(300))
    report = check(tmp_path, "a,b\r\n" + body, block_size=64)
    assert report.ok and report.line_endings == "crlf"


def test_quoted_fields_with_commas_quotes_and_newlines(tmp_path):
    rows = [
        ["id", "note"],
        ["1", "a, b, c"],
        ["2", 'say "hello"'],
        ["3", "first line\nsecond line\r\nthird"],
        ["4", ""],
    ]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    report = check(tmp_path, out.getvalue())
    assert report.ok, report.problems
    assert report.row_count == 4
    assert report.columns[1].type == "text" and report.columns[1].null_count == 1


# --- types ---------------------------------------------------------------------------------


def column_type(tmp_path: Path, *values: str, **options: object) -> str:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows([("v", "k"), *((v, "1") for v in values)])
    report = check(tmp_path, out.getvalue(), **options)
    assert report.ok, report.problems
    return report.columns[0].type


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("1", "-20", "300000000000"), "integer"),
        (("0", "1"), "integer"),
        (("007", "12"), "text"),  # a code whose zeros matter
        (("0.5", "00.5"), "text"),
        (("99999999999999999999",), "decimal"),  # beyond 64 bits
        (("1.50", "-2", ".5", "1e6"), "decimal"),
        (("1.5", "nan"), "text"),
        (("inf",), "text"),
        (("1,5",), "text"),
        (("true", "false", "True", "FALSE"), "boolean"),
        (("yes", "No", "YES"), "boolean"),
        (("Y", "N"), "text"),
        (("true", "1"), "text"),
        (("2024-01-05", "1999-12-31"), "date"),
        (("2024-02-30",), "text"),
        (("2024-1-5",), "text"),
        (("05/01/2024",), "text"),
        (("2024-01-05T10:00:00", "2024-01-05 10:00"), "timestamp"),
        (("2024-01-05T10:00:00.123456Z", "2024-01-05T10:00:00+02:00"), "timestamp"),
        (("2024-01-05T10:00:00Z", "2024-01-05T10:00:00"), "timestamp"),  # zoned and naive
        (("2024-01-05", "2024-01-06T08:30:00"), "timestamp"),  # dates mixed with times
        (("2024-01-05T25:00:00",), "text"),
        (("2024-02-30T10:00:00Z", "2024-01-05T10:00:00"), "text"),
        (("hello", "1"), "text"),
    ],
)
def test_type_inference(tmp_path, values, expected):
    assert column_type(tmp_path, *values) == expected


def test_empty_cells_are_null_and_do_not_vote(tmp_path):
    report = check(tmp_path, 'a,b,c\n1,,x\n,"",y\n3,,z\n')
    assert report.ok
    assert [(c.type, c.null_count) for c in report.columns] == [
        ("integer", 1),
        ("text", 3),  # no value at all: text, every row null
        ("text", 0),
    ]
    assert report.row_count == 3


def test_rows_without_any_value_are_blank_not_data(tmp_path):
    report = check(tmp_path, 'a,b\n1,2\n\n,\n"",""\n3,4\n')
    assert report.ok
    assert (report.row_count, report.blank_rows) == (2, 3)
    assert [c.null_count for c in report.columns] == [0, 0]


@pytest.mark.parametrize(
    ("late", "expected"),
    [("12.5", "decimal"), ("n/a", "text"), ("2024-01-05", "text"), ("", "integer")],
)
def test_a_type_change_after_the_first_block_is_seen(tmp_path, late, expected):
    values = [str(i) for i in range(1, 500)] + [late]
    assert column_type(tmp_path, *values, block_size=128) == expected


def test_dates_then_timestamps_in_a_later_block(tmp_path):
    values = ["2024-01-05"] * 300 + ["2024-01-05T10:00:00"]
    assert column_type(tmp_path, *values, block_size=128) == "timestamp"


def test_integers_then_decimals_keep_the_range(tmp_path):
    report = check(
        tmp_path, "v\n" + "".join(f"{i}\n" for i in range(300)) + "-0.5\n", block_size=64
    )
    column = report.columns[0]
    assert (column.type, column.min, column.max) == ("decimal", -0.5, 299)


# --- progress ------------------------------------------------------------------------------


def test_progress_is_reported_from_the_calling_thread(tmp_path):
    body = "".join(f"{i},{i}.5\n" for i in range(5000))
    calls: list[tuple[int, int, threading.Thread]] = []
    report = check(
        tmp_path,
        "a,b\n" + body,
        block_size=4096,
        progress=lambda d, t: calls.append((d, t, threading.current_thread())),
    )
    assert report.ok
    size = report.size_bytes
    assert len(calls) > 5
    assert all(thread is threading.current_thread() for _, _, thread in calls)
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and done[-1] == size and {t for _, t, _ in calls} == {size}


def test_an_exception_from_progress_ends_the_check(tmp_path):
    class Revoked(Exception):
        pass

    def progress(done: int, total: int) -> None:
        raise Revoked

    body = "".join(f"{i},{i}\n" for i in range(5000))
    with pytest.raises(Revoked):
        check(tmp_path, "a,b\n" + body, block_size=1024, progress=progress)


# --- property: whatever the csv module writes, the check reads back -----------------------

NAME = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters=";|"),
    min_size=1,
    max_size=8,
).filter(lambda s: s.strip())
VALUE = st.one_of(
    st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\0"),
        max_size=10,
    ),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["", "true", "2024-01-05", "1.25", 'a "quoted", value', "x\r\ny"]),
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    names = draw(st.lists(NAME, min_size=1, max_size=6, unique_by=lambda s: s.strip().casefold()))
    rows = draw(st.lists(st.lists(VALUE, min_size=len(names), max_size=len(names)), max_size=30))
    return names, rows


def write(names: list[str], rows: list[list[str]]) -> tuple[str, list[int]]:
    """The CSV text and the line each row starts on."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(names)
    starts = []
    for row in rows:
        starts.append(out.getvalue().count("\n") + 1)
        writer.writerow(row)
    return out.getvalue(), starts


@settings(max_examples=80, deadline=None)
@given(tables())
def test_any_table_written_by_the_csv_module_is_read_back(table):
    names, rows = table
    text, _ = write(names, rows)
    with tempfile.TemporaryDirectory() as tmp:
        report = check(Path(tmp), text)
    if not any(any(v for v in row) for row in rows):
        assert report.problems == [Problem(None, None, HEADER_ONLY)]
        return
    assert report.ok, report.problems
    assert [c.name for c in report.columns] == names
    assert report.row_count == sum(1 for row in rows if any(row))  # rows with no value: blank
    assert report.line_endings in ("crlf", "mixed")  # csv writes CRLF; values may hold LF


@settings(max_examples=60, deadline=None)
@given(tables(), st.data())
def test_a_bad_row_is_named_by_the_line_it_starts_on(table, data):
    names, rows = table
    rows = [*rows, ["last"] * len(names)]
    bad = data.draw(st.integers(0, len(rows) - 1))
    rows[bad] = [*rows[bad], "extra"]
    text, starts = write(names, rows)
    with tempfile.TemporaryDirectory() as tmp:
        report = check(Path(tmp), text, block_size=data.draw(st.sampled_from([1024, 1 << 20])))
    assert [(p.line, p.column) for p in report.problems] == [(starts[bad], None)]


def _zero_padded_by_kernels(values: pa.Array) -> bool:
    """The definition, in pyarrow kernels: starts with "0", longer than 1, not "0."."""
    padded = pc.and_(
        pc.and_(pc.starts_with(values, "0"), pc.greater(pc.binary_length(values), 1)),
        pc.invert(pc.starts_with(values, "0.")),
    )
    return bool(pc.any(padded).as_py())


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.none() | st.text(alphabet="0123.-e", max_size=4), max_size=8),
    st.integers(min_value=0, max_value=3),
)
def test_zero_padded_reads_the_buffers_as_the_kernels_would(values, offset):
    """_zero_padded reads the string buffers itself; with nulls, empty strings and sliced
    arrays (a non-zero offset) it must say what the pyarrow kernels say."""
    array = pa.array(["x"] * offset + values, pa.string()).slice(offset)
    assert _zero_padded(array) == _zero_padded_by_kernels(array)


def test_a_column_name_has_at_most_128_characters(tmp_path):
    from catalog.csvcheck import MAX_NAME_CHARS

    assert MAX_NAME_CHARS == 128
    long = "x" * 129
    problem = only_problem(check(tmp_path, f"id,{long}\n1,2\n"))
    assert (problem.line, problem.column) == (1, long[:128] + "…")
    assert "column 2's name has 129 characters; a column name may have at most 128" in (
        problem.message
    )
    assert check(tmp_path, f"id,{'y' * 128}\n1,2\n").ok


def test_the_column_names_together_fit_a_ledger_entry(tmp_path):
    # 1,000 names of 128 characters would make the publish entry (which lists the columns)
    # larger than the ledger takes: the names together have at most MAX_HEADER_BYTES.
    from catalog.csvcheck import MAX_HEADER_BYTES

    names = [f"{i:03d}" + "n" * 125 for i in range(200)]
    problem = only_problem(check(tmp_path, ",".join(names) + "\n" + ",".join("1" * 200) + "\n"))
    assert problem.line == 1
    assert f"at most {MAX_HEADER_BYTES:,} bytes" in problem.message

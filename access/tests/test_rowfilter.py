"""The row-filter language: parsing, checking against the schema, canonical text, evaluation."""

import datetime as dt

import pyarrow as pa
import pytest

from access import rowfilter
from access.rowfilter import FilterError

SCHEMA = [
    {"name": "loan_id", "type": "integer", "null_count": 0},
    {"name": "amount", "type": "decimal", "null_count": 1},
    {"name": "opened", "type": "date", "null_count": 0},
    {"name": "defaulted", "type": "boolean", "null_count": 0},
    {"name": "region", "type": "text", "null_count": 1},
    {"name": "seen", "type": "timestamp", "null_count": 0},
    {"name": "first name", "type": "text", "null_count": 0},
]


def canon(text: str) -> str:
    return rowfilter.canonical(rowfilter.parse(text, SCHEMA))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("loan_id = 1", "loan_id = 1"),
        ("LOAN_ID=1", None),  # names are case-sensitive: no such column
        ("amount >= 10.5 AND region='north'", "amount >= 10.5 and region = 'north'"),
        ("amount <> 3", "amount != 3"),
        ("region in ('north','south')", "region in ('north', 'south')"),
        ("opened between '2024-01-01' and '2024-06-30'", None),
        ("region is null or region is not null", "region is null or region is not null"),
        ("(loan_id = 1 or loan_id = 2) and defaulted = true", None),
        ("not (loan_id = 1 or loan_id = 2)", "not (loan_id = 1 or loan_id = 2)"),
        ("region = 'O''Brien'", "region = 'O''Brien'"),
        ("\"first name\" = 'Ann'", "\"first name\" = 'Ann'"),
        ("seen >= '2024-01-01 10:00'", "seen >= '2024-01-01 10:00'"),
        ("loan_id = -3", "loan_id = -3"),
    ],
)
def test_valid_filters_have_one_canonical_text(text, expected):
    if expected is None and text.startswith("LOAN_ID"):
        with pytest.raises(FilterError, match="no column “LOAN_ID”"):
            canon(text)
        return
    result = canon(text)
    assert result == (expected if expected is not None else result)
    # The canonical text parses to itself.
    assert canon(result) == result


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("salary > 3", "there is no column “salary” (at character 1)"),
        ("loan_id > 'x'", "“'x'” is not an integer value for the column “loan_id”"),
        ("loan_id = 1.5", "is not an integer value"),
        ("opened < '2024-13-01'", "is not a date value for the column “opened”"),
        ("opened < 20240101", "is not a date value"),
        ("defaulted > true", "the boolean column “defaulted” takes only = and !="),
        ("region like 'n%'", "expected an operator"),
        ("region == 'x'", "expected a value for “region” but found “=”"),
        ("region = 'north", "a text in quotes is not closed (at character 10)"),
        ("region = north", "“north” is not a text value"),
        ("loan_id = 1 and", "expected a column name but found “the end”"),
        ("(loan_id = 1", "expected “)” but found the end"),
        ("loan_id = 1)", "unexpected “)”"),
        ("region = null", "compare with null by “region is null”"),
        ("amount between 1", "expected “and” but found the end"),
        ("region in 'a'", "expected “(” after “in”"),
    ],
)
def test_bad_filters_name_the_problem(text, message):
    with pytest.raises(FilterError) as caught:
        rowfilter.parse(text, SCHEMA)
    assert message in caught.value.message
    assert caught.value.field == "filter"


@pytest.mark.parametrize(
    "text",
    [
        "1=1; drop table portal_accessrequest",
        "loan_id = 1; drop table x",
        "loan_id = 1 -- comment",
        "loan_id = 1 or 1=1",
        "region = '' or ''=''",
        "__import__('os').system('id')",
        "loan_id = 1 /* x */",
        "region = 'a' || 'b'",
        "loan_id = `id`",
        'region = "north"',  # double quotes name a column, and there is none called north
    ],
)
def test_injection_attempts_are_refused(text):
    with pytest.raises(FilterError):
        rowfilter.parse(text, SCHEMA)


def test_quotes_inside_strings_are_data_not_syntax():
    node = rowfilter.parse("region = 'x'' or ''1''=''1'", SCHEMA)
    assert node == rowfilter.Compare("region", "=", "x' or '1'='1")


def test_combine_ands_the_extra_condition():
    assert rowfilter.combine("region = 'north'", "amount > 100", SCHEMA) == (
        "region = 'north' and amount > 100"
    )
    assert rowfilter.combine("loan_id = 1 or loan_id = 2", "amount > 1", SCHEMA) == (
        "(loan_id = 1 or loan_id = 2) and amount > 1"
    )
    assert rowfilter.combine("", "amount > 1", SCHEMA) == "amount > 1"
    assert rowfilter.combine("amount > 1", "", SCHEMA) == "amount > 1"


def test_compiled_expressions_select_the_right_rows():
    table = pa.table(
        {
            "loan_id": pa.array([1, 2, 3, 4], pa.int64()),
            "amount": pa.array(["1000.50", "250.00", None, "75.25"]),
            "opened": pa.array(
                [
                    dt.date(2024, 1, 3),
                    dt.date(2024, 2, 11),
                    dt.date(2024, 3, 30),
                    dt.date(2023, 12, 30),
                ]
            ),
            "defaulted": pa.array(["false", "true", "false", "TRUE"]),
            "region": pa.array(["north", "south", None, "north"]),
        }
    )
    types = {c["name"]: c["type"] for c in SCHEMA}

    def ids(text: str) -> list[int]:
        node = rowfilter.parse(text, SCHEMA)
        assert node is not None, text
        chosen = table.filter(rowfilter.to_arrow(node, types))["loan_id"].to_pylist()
        # The download evaluates the same functions on the arrays directly: same rows.
        direct = table.filter(rowfilter.row_mask(node, types, table))["loan_id"].to_pylist()
        assert direct == chosen, text
        return chosen

    assert ids("amount > 100") == [1, 2]
    assert ids("amount between 70 and 300") == [2, 4]
    assert ids("opened >= '2024-01-01'") == [1, 2, 3]
    assert ids("defaulted = true") == [2, 4]
    assert ids("defaulted != true") == [1, 3]
    assert ids("region in ('north')") == [1, 4]
    assert ids("region != 'north'") == [2]  # a missing value is not different, as in SQL
    assert ids("region is null") == [3]
    assert ids("not (loan_id = 1) and region is not null") == [2, 4]
    assert ids("loan_id = 1 or amount < 100") == [1, 4]
    assert ids("defaulted in (true, false)") == [1, 2, 3, 4]
    assert ids("amount in (250, 75.25) and not region is null") == [2, 4]
    assert ids("opened in ('2024-01-03', '2023-12-30') or loan_id between 2 and 2") == [1, 2, 4]


# --- limits (issue 14, finding 6) --------------------------------------------------------------


def refusal(text: str) -> FilterError:
    with pytest.raises(FilterError) as caught:
        rowfilter.parse(text, SCHEMA)
    return caught.value


def test_deep_nesting_is_refused_with_its_position_not_a_recursion_error():
    # 238 parentheses used to blow Python's recursion limit (a 500).
    error = refusal("(" * 238 + "loan_id = 1" + ")" * 238)
    assert f"at most {rowfilter.MAX_DEPTH} levels" in error.message
    assert error.position == rowfilter.MAX_DEPTH  # the first parenthesis one level too deep
    assert "(at character 33)" in error.message
    error = refusal("not " * 100 + "loan_id = 1")
    assert f"at most {rowfilter.MAX_DEPTH} levels" in error.message
    # At the limit it parses, and its canonical text parses again.
    deep = "(" * (rowfilter.MAX_DEPTH - 1) + "loan_id = 1" + ")" * (rowfilter.MAX_DEPTH - 1)
    assert canon(deep) == "loan_id = 1"
    nots = "not " * rowfilter.MAX_DEPTH + "loan_id = 1"
    assert canon(canon(nots)) == canon(nots)


def test_integers_outside_int64_are_refused():
    big = "9" * 2000
    error = refusal(f"loan_id = {big[:1980]}")
    assert "out of range" in error.message and "(at character 11)" in error.message
    assert canon(f"loan_id = {2**63 - 1}") == f"loan_id = {2**63 - 1}"
    assert canon(f"loan_id = {-(2**63)}") == f"loan_id = {-(2**63)}"
    assert "out of range" in refusal(f"loan_id > {2**63}").message
    assert "out of range" in refusal(f"loan_id in (1, {-(2**63) - 1})").message
    # A decimal column compared with a huge integer, or a decimal beyond a float, too.
    assert "out of range" in refusal(f"amount < {2**64}").message
    assert "out of range" in refusal("amount < 1e400").message


def test_long_strings_are_refused():
    error = refusal("region = '" + "x" * (rowfilter.MAX_STRING_CHARS + 1) + "'")
    assert f"at most {rowfilter.MAX_STRING_CHARS:,} characters" in error.message
    assert "(at character 10)" in error.message
    assert canon("region = '" + "x" * rowfilter.MAX_STRING_CHARS + "'")


def test_long_in_lists_are_refused_at_the_value_too_many():
    values = ", ".join(str(i) for i in range(rowfilter.MAX_IN_VALUES + 1))
    text = f"loan_id in ({values})"
    error = refusal(text)
    assert f"at most {rowfilter.MAX_IN_VALUES} values" in error.message
    assert error.position == text.index(f" {rowfilter.MAX_IN_VALUES})") + 1


def test_long_filters_are_refused_with_the_position():
    text = " or ".join(f"loan_id = {i}" for i in range(400))
    assert len(text) > rowfilter.MAX_FILTER_CHARS
    error = refusal(text)
    assert f"at most {rowfilter.MAX_FILTER_CHARS:,} characters" in error.message
    assert error.position == rowfilter.MAX_FILTER_CHARS


def test_stored_filters_longer_than_typed_still_parse():
    # The canonical text (spaces around operators) and a combined one may be longer than a
    # typed filter may be; what was approved must parse again at every download.
    typed = " or ".join(f"loan_id={i}" for i in range(130))
    assert len(typed) <= rowfilter.MAX_FILTER_CHARS
    combined = rowfilter.combine(typed, typed, SCHEMA)
    assert len(combined) > rowfilter.MAX_FILTER_CHARS
    assert rowfilter.canonical(rowfilter.parse_stored(combined, SCHEMA)) == combined


def test_the_deepest_filters_combined_still_parse():
    # Canonical text makes precedence explicit ("a or b and c" is "a or (b and c)"), so it
    # can nest deeper than what was typed; combining adds a level more.
    typed = "loan_id = 0"
    for i in range(rowfilter.MAX_DEPTH):
        typed = f"loan_id = {i} or loan_id > {i} and ({typed})"
    assert rowfilter.parse(typed, SCHEMA) is not None
    with pytest.raises(FilterError, match="levels"):
        rowfilter.parse(f"({typed})", SCHEMA)
    combined = rowfilter.combine(typed, typed, SCHEMA)
    assert rowfilter.canonical(rowfilter.parse_stored(combined, SCHEMA)) == combined
    types = {c["name"]: c["type"] for c in SCHEMA}
    table = pa.table({"loan_id": pa.array([-1, 0, 5, 31, 50], pa.int64())})

    def ids(node):
        return table.filter(rowfilter.row_mask(node, types, table))["loan_id"].to_pylist()

    assert ids(rowfilter.parse_stored(combined, SCHEMA)) == ids(rowfilter.parse(typed, SCHEMA))
    assert ids(rowfilter.parse(typed, SCHEMA)) == [31]


def test_an_extra_condition_that_does_not_parse_names_its_field():
    with pytest.raises(FilterError) as caught:
        rowfilter.combine("loan_id = 1", "amount >", SCHEMA)
    assert caught.value.field == "extra_filter"


def test_a_filter_may_use_only_the_columns_it_is_given():
    with pytest.raises(FilterError) as caught:
        rowfilter.parse(
            "loan_id = 1 and region = 'north'",
            SCHEMA,
            refused={"region": "“region” is not among the columns requested"},
        )
    error = caught.value
    assert "“region” is not among the columns requested" in error.message
    assert "(at character 17)" in error.message

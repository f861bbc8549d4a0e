"""Table 2 arithmetic: proportions that add up to 100 %, and the small-group rule."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from surveys.tables import (
    InstitutionInfo,
    OptionInfo,
    build_document,
    hidden_groups,
    largest_remainder_percents,
)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((45, 21, 26, 8), [45, 21, 26, 8]),  # the paper: whole shares stay as they are
        ((1, 1, 1), [34, 33, 33]),  # equal remainders: the option listed first gets the point
        ((3, 2, 2), [43, 29, 28]),  # 42.86, 28.57, 28.57: two points go to the largest two
        ((14, 6, 8, 2), [47, 20, 27, 6]),  # 46.67, 20, 26.67, 6.67: not 47/20/27/7 = 101
        ((1, 0, 0, 0), [100, 0, 0, 0]),
        ((0, 0, 0), [0, 0, 0]),  # nobody answered: nothing to share out
        ((), []),
    ],
)
def test_largest_remainder_examples(counts, expected):
    assert largest_remainder_percents(counts) == expected


def test_rounding_each_share_on_its_own_would_not_add_up():
    # The hazard the rule exists for: plain rounding of 1/3 each gives 99 %.
    assert sum(round(100 / 3) for _ in range(3)) == 99
    assert sum(largest_remainder_percents([1, 1, 1])) == 100


def test_negative_counts_are_refused():
    with pytest.raises(ValueError, match="negative"):
        largest_remainder_percents([3, -1])


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12))
def test_percents_add_up_to_100_and_stay_within_a_point(counts):
    percents = largest_remainder_percents(counts)
    total = sum(counts)
    if total == 0:
        assert percents == [0] * len(counts)
        return
    assert sum(percents) == 100
    for count, percent in zip(counts, percents, strict=True):
        exact = Fraction(count * 100, total)
        assert exact - 1 < percent < exact + 1
    # More answers never show a smaller proportion.
    for a, pa in zip(counts, percents, strict=True):
        for b, pb in zip(counts, percents, strict=True):
            if a > b:
                assert pa >= pb


@pytest.mark.parametrize(
    ("totals", "hidden"),
    [
        ({"a": 10, "b": 5}, set()),  # 5 is not fewer than 5
        ({"a": 10, "b": 4}, {"a", "b"}),  # b alone would be overall minus a
        ({"a": 30, "b": 20, "c": 3}, {"b", "c"}),  # the smallest shown group covers c
        ({"a": 30, "b": 3, "c": 2}, {"b", "c"}),  # together 5: subtraction gives only their sum
        ({"a": 4}, {"a"}),
        ({}, set()),
    ],
)
def test_small_groups_and_their_complements_are_hidden(totals, hidden):
    assert set(hidden_groups(totals, 5)) == hidden


def test_a_hidden_group_cannot_be_recovered_by_subtraction():
    totals = {"a": 40, "b": 12, "c": 1}
    hidden = hidden_groups(totals, 5)
    assert "c" in hidden
    assert sum(totals[k] for k in hidden) >= 5, "what subtraction reveals is a group of 5 or more"


OPTIONS = [OptionInfo(1, "Lower the cost"), OptionInfo(2, "Other", takes_text=True)]
INSTITUTIONS = {
    10: InstitutionInfo(10, "acme", "Acme Bank"),
    20: InstitutionInfo(20, "beta", "Beta"),
}


def test_document_hides_everything_while_fewer_than_five_answered():
    doc = build_document(
        options=OPTIONS,
        tally=[(10, 1, 3), (10, 2, 1)],
        institutions=INSTITUTIONS,
        texts=["my own words"],
        minimum=5,
    )
    assert doc["overall"] == {
        "total": 4,
        "hidden": True,
        "reason": "fewer than 5 answers so far",
        "rows": [],
    }
    assert doc["texts"] == [] and doc["texts_total"] == 0
    assert doc["institutions"][0]["hidden"] and doc["institutions"][0]["total"] is None


def test_document_rows_overall_and_per_institution():
    doc = build_document(
        options=OPTIONS,
        tally=[(10, 1, 6), (20, 1, 3), (20, 2, 3)],
        institutions=INSTITUTIONS,
        texts=["a", "b", "c"],
        minimum=5,
    )
    assert [(r["label"], r["count"], r["percent"]) for r in doc["overall"]["rows"]] == [
        ("Lower the cost", 9, 75),
        ("Other", 3, 25),
    ]
    acme, beta = doc["institutions"]
    assert (acme["name"], acme["total"], [r["count"] for r in acme["rows"]]) == (
        "Acme Bank",
        6,
        [6, 0],
    )
    assert (beta["total"], [r["percent"] for r in beta["rows"]]) == (6, [50, 50])
    assert doc["texts_total"] == 3


def test_figure_labels_are_escaped():
    # plotly draws label HTML: an option text with a link would be a link in the chart.
    from surveys import charts

    label = '<a href="https://evil.example/">Lower the cost</a>'
    figure = charts.build([label, "Other"], {"all": ([3, 1], [75, 25])})
    bar, pie = figure["data"]["all"]
    escaped = "&lt;a href=&quot;https://evil.example/&quot;&gt;Lower the cost&lt;/a&gt;"
    assert bar["x"][0] == escaped and pie["labels"][0] == escaped

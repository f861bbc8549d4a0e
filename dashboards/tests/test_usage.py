"""The usage dashboard: datasets per institution, category, sensitivity and week, filtered."""

import csv
import io
import re

import pytest
from django.urls import reverse

from catalog.models import Dataset
from dashboards import selectors
from dashboards.selectors import DatasetCount, Period
from dashboards.tests.conftest import at, dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(cast):
    """Acme: 3 listings (2 loans, 1 cards; one withdrawn); Beta: 1 insurance, restricted."""
    a = cast.alice.user
    dataset(cast.acme, a, day="2026-03-02", category="loans")
    dataset(cast.acme, a, day="2026-03-04", category="loans", status="withdrawn")
    dataset(cast.acme, a, day="2026-03-10", category="cards", sensitivity="confidential")
    dataset(
        cast.beta, cast.carol.user, day="2026-03-11", category="insurance", sensitivity="restricted"
    )
    return cast


def test_empty_catalog_has_no_rows_and_says_so(cast, client):
    figures = selectors.usage_figures(period=Period(), institution=None)
    assert figures.total == 0
    assert figures.tables == {"institution": [], "category": [], "sensitivity": []}
    assert figures.weekly == []
    client.force_login(cast.meg)
    page = client.get(reverse("dashboard-usage")).content.decode()
    assert 'data-testid="empty-category"' in page and 'data-testid="usage-total">0<' in page


def test_a_single_listing(cast, client):
    dataset(cast.beta, cast.carol.user, day="2026-05-06", category="payments")
    figures = selectors.usage_figures(period=Period(), institution=None)
    assert figures.tables["institution"] == [
        DatasetCount(key="Beta Insurance", label="Beta Insurance", datasets=1, active=1)
    ]
    assert figures.tables["category"] == [
        DatasetCount(key="payments", label="Payments", datasets=1, active=1)
    ]
    # 6 May 2026 is a Wednesday: its week starts on Monday 4 May.
    assert [(str(r.week), r.datasets) for r in figures.weekly] == [("2026-05-04", 1)]


def test_figures_by_hand(catalog):
    figures = selectors.usage_figures(period=Period(), institution=None)
    assert figures.total == 4
    assert [(r.label, r.datasets, r.active) for r in figures.tables["institution"]] == [
        ("Acme Bank", 3, 2),
        ("Beta Insurance", 1, 1),
    ]
    assert [(r.key, r.datasets) for r in figures.tables["category"]] == [
        ("loans", 2),
        ("cards", 1),
        ("insurance", 1),
    ]
    assert [(r.key, r.datasets) for r in figures.tables["sensitivity"]] == [
        ("internal", 2),
        ("confidential", 1),
        ("restricted", 1),
    ]
    # Weeks of 2 March (2nd, 4th) and 9 March (10th, 11th).
    assert [(str(r.week), r.datasets) for r in figures.weekly] == [
        ("2026-03-02", 2),
        ("2026-03-09", 2),
    ]


def test_the_filters_change_the_figures(catalog, client):
    from datetime import date

    only_acme = selectors.usage_figures(period=Period(), institution=catalog.acme)
    assert [(r.key, r.datasets) for r in only_acme.tables["category"]] == [
        ("loans", 2),
        ("cards", 1),
    ]
    # From the 4th to the 10th, both ends included.
    week = selectors.usage_figures(
        period=Period(date(2026, 3, 4), date(2026, 3, 10)), institution=None
    )
    assert week.total == 2
    assert [(r.key, r.datasets) for r in week.tables["category"]] == [
        ("cards", 1),
        ("loans", 1),
    ]
    client.force_login(catalog.meg)
    page = client.get(
        reverse("dashboard-usage"), {"since": "2026-03-04", "until": "2026-03-10"}
    ).content.decode()
    assert 'data-testid="usage-total">2<' in page
    page = client.get(reverse("dashboard-usage"), {"institution": "beta"}).content.decode()
    assert 'data-testid="usage-total">1<' in page and "Usage: Beta Insurance" in page


def test_bad_filters_are_answered_with_the_reason(catalog, client):
    client.force_login(catalog.meg)
    response = client.get(
        reverse("dashboard-usage"), {"since": "2026-03-10", "until": "2026-03-01"}
    )
    assert response.status_code == 400
    assert "The end of the range must not be before its start." in response.content.decode()
    response = client.get(reverse("dashboard-usage"), {"since": "yesterday"})
    assert response.status_code == 400 and "Enter a valid date." in response.content.decode()
    response = client.get(reverse("dashboard-usage"), {"institution": "nowhere"})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()


def _html_table(page: str, name: str) -> list[list[str]]:
    table = re.search(rf'<table data-testid="table-{name}">(.*?)</table>', page, re.S)
    assert table, f"no table {name}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]


@pytest.mark.parametrize("name", ["week", "institution", "category", "sensitivity"])
def test_csv_export_matches_the_table(catalog, client, name):
    client.force_login(catalog.meg)
    query = {"since": "2026-03-01", "institution": "acme"}
    page = client.get(reverse("dashboard-usage"), query).content.decode()
    response = client.get(reverse("dashboard-usage-csv"), {**query, "table": name})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == _html_table(page, name)
    assert len(rows) > 1


def test_csv_of_an_unknown_table_is_404(catalog, client):
    client.force_login(catalog.mo)
    assert client.get(reverse("dashboard-usage-csv"), {"table": "nope"}).status_code == 404


def test_the_charts_carry_the_tables_numbers(catalog, client):
    client.force_login(catalog.meg)
    response = client.get(reverse("dashboard-usage"))
    charts = response.context["charts"]
    assert charts["category"]["data"][0]["x"] == ["Loans", "Card transactions", "Insurance"]
    assert charts["category"]["data"][0]["y"] == [2, 1, 1]
    assert charts["week"]["data"][0]["y"] == [2, 2]
    page = response.content.decode()
    assert 'src="/static/surveys/plotly.min.js"' in page, "plotly.js from our own static files"
    assert "cdn" not in page.lower()


def test_weeks_run_monday_to_sunday_in_utc(cast):
    # Sunday 8 March 23:59 belongs to the week of Monday 2 March; Monday 9 March 00:00 starts the
    # next; Monday 2 March 00:00 is its own week's first moment (the database computes the week).
    for day, hour, minute in [("2026-03-08", 23, 59), ("2026-03-09", 0, 0), ("2026-03-02", 0, 0)]:
        ds = dataset(cast.acme, cast.alice.user, day=day)
        Dataset.objects.filter(pk=ds.pk).update(created_at=at(day, hour).replace(minute=minute))
    figures = selectors.usage_figures(period=Period(), institution=None)
    assert [(str(r.week), r.datasets) for r in figures.weekly] == [
        ("2026-03-02", 2),
        ("2026-03-09", 1),
    ]

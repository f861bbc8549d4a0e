"""The declared tables: one name per table of a page, and a table that exists only with its
figures (Table 1) has no CSV without them."""

import pytest
from django.urls import reverse

from dashboards import tables
from dashboards.tables import Bars, Column, Declared, Number


@pytest.mark.parametrize("page", [tables.USAGE, tables.STORAGE, tables.LEDGER])
def test_each_table_of_a_page_has_its_own_name(page):
    names = [t.name for t in page]
    assert len(names) == len(set(names))


def test_a_declared_table_builds_its_cells_chart_and_alignment():
    class Row:
        def __init__(self, day, n):
            self.day, self.n = day, n

    from datetime import date

    declared = Declared(
        name="t",
        title="T",
        rows=lambda f: f,
        columns=(Column("Day", "day"), Number("N", "n"), Column("Twice", lambda r: 2 * (r.n or 0))),
        chart=Bars("n", y_title="N"),
        shown=lambda rows: any(r.n for r in rows),
    )
    table = declared.build([Row(date(2026, 3, 2), 3), Row(date(2026, 3, 9), None)])
    assert table is not None
    assert table.columns == ["Day", "N", "Twice"] and table.numeric == {1}
    assert table.rows == [["2026-03-02", 3, 6], ["2026-03-09", "", 0]]
    assert table.chart["data"][0]["x"] == ["2026-03-02", "2026-03-09"]
    assert table.chart["data"][0]["y"] == [3, 0]  # nothing is a bar of 0
    empty = declared.build([Row(date(2026, 3, 2), 0)])
    assert empty is not None and empty.rows == [] and empty.chart is None


@pytest.mark.django_db
def test_no_table1_csv_before_a_run(cast, client):
    client.force_login(cast.meg)
    assert client.get(reverse("dashboard-storage-csv"), {"table": "table1"}).status_code == 404

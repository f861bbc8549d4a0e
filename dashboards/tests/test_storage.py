"""The storage dashboard: nodes, shards, stored versus plaintext bytes, repairs, scrub, Table 1."""

from datetime import date

import pytest
from django.urls import reverse

from dashboards import selectors
from dashboards.selectors import Period
from dashboards.tests.conftest import node, storage_event, stored_object
from storage.models import StorageEvent, Table1Run
from storage.selectors import StoredTotals
from storage.table1 import PAPER

pytestmark = pytest.mark.django_db

K = StorageEvent.Kind


def test_empty_storage(cast, client):
    figures = selectors.storage_figures(period=Period())
    assert figures.nodes == [] and figures.repairs == []
    assert figures.totals == StoredTotals(
        objects=0,
        plaintext_bytes=0,
        stored_bytes=0,
        overhead=None,
    )
    assert figures.last_scrub is None and figures.table1 is None
    client.force_login(cast.meg)
    page = client.get(reverse("dashboard-storage")).content.decode()
    assert 'data-testid="empty-nodes"' in page and 'data-testid="table1-none"' in page
    assert 'data-testid="overhead">—<' in page
    assert "87/34/56" in page and "52/44/79" in page and "36/89/45" in page


def test_a_single_object_on_three_nodes(cast):
    nodes = [node("n1"), node("n2"), node("n3", status="down")]
    stored_object(nodes, size=1000, stored=1500, bad=1)
    figures = selectors.storage_figures(period=Period())
    assert [(n.name, n.status, n.shards, n.bad_shards, n.stored_bytes) for n in figures.nodes] == [
        ("n1", "up", 1, 1, 500),
        ("n2", "up", 1, 0, 500),
        ("n3", "down", 1, 0, 500),
    ]
    assert figures.totals == StoredTotals(
        objects=1,
        plaintext_bytes=1000,
        stored_bytes=1500,
        overhead=1.5,
    )


@pytest.fixture
def history(cast):
    storage_event(K.SHARD_MISSING, "2026-04-01")
    storage_event(K.SHARD_CORRUPT, "2026-04-01")
    storage_event(K.SHARD_REPAIRED, "2026-04-01")
    storage_event(K.SHARD_REPAIRED, "2026-04-01")
    storage_event(K.SHARD_MOVED, "2026-04-03")
    storage_event(K.NODE_DOWN, "2026-04-03")  # not a repair
    storage_event(K.SCRUB_RUN, "2026-04-02", detail="600 shards checked, 0 bad")
    storage_event(K.SCRUB_RUN, "2026-04-05", detail="600 shards checked, 2 bad, 2 repaired")
    return cast


def test_repairs_per_day_and_the_last_scrub(history):
    figures = selectors.storage_figures(period=Period())
    assert [
        (str(r.day), r.found_missing, r.found_corrupt, r.repaired, r.moved) for r in figures.repairs
    ] == [("2026-04-01", 1, 1, 2, 0), ("2026-04-03", 0, 0, 0, 1)]
    assert figures.last_scrub.detail == "600 shards checked, 2 bad, 2 repaired"


def test_the_date_range_narrows_the_repairs(history, client):
    figures = selectors.storage_figures(period=Period(date(2026, 4, 2), None))
    assert [(str(r.day), r.moved) for r in figures.repairs] == [("2026-04-03", 1)]
    client.force_login(history.mo)
    response = client.get(reverse("dashboard-storage"), {"until": "2026-04-02"})
    assert response.context["charts"]["repairs"]["data"][2]["y"] == [2]  # repaired on the 1st


def _report(fault: float) -> dict:
    return {
        "schemes": [
            {"scheme": s, "measured": {**PAPER[s], "fault_tolerance": fault}, "paper": PAPER[s]}
            for s in ("blockchain", "ipfs", "zigzag")
        ],
        "paper_note": "The paper defines none of the three measures.",
    }


def test_the_latest_finished_table1_beside_the_papers(cast, client):
    Table1Run.objects.create(nodes=10, trials=200, seed=1, report=_report(50.0))
    latest = Table1Run.objects.create(nodes=10, trials=200, seed=2, report=_report(100.0))
    Table1Run.objects.create(nodes=10, trials=200, seed=3, status="running", trials_done=20)
    client.force_login(cast.meg)
    response = client.get(reverse("dashboard-storage"))
    assert response.context["figures"].table1 == latest
    chart = response.context["charts"]["table1"]
    assert chart["data"][0]["y"][0] == 100.0  # measured: blockchain fault tolerance
    assert chart["data"][1]["y"] == [87, 34, 56, 52, 44, 79, 36, 89, 45]  # the paper's
    page = response.content.decode()
    assert "seed 2" in page and "share of trials in which every object read back" in page
    # The running one shows its progress instead of the button (managers never get a button).
    assert 'data-testid="table1-progress" data-status="running"' in page
    assert "Run the experiment" not in page


def test_csv_export_of_the_nodes_matches(cast, client):
    import csv
    import io

    stored_object([node("n1"), node("n2")], size=10, stored=20)
    client.force_login(cast.meg)
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(reverse("dashboard-storage-csv"), {"table": "nodes"}).content.decode()
            )
        )
    )
    assert rows[0] == ["Node", "Kind", "Status", "Shards", "Bad shards", "Bytes held", "Checked"]
    assert rows[1:] == [
        ["n1", "local", "up", "1", "0", "10", ""],
        ["n2", "local", "up", "1", "0", "10", ""],
    ]

"""The ledger dashboard: tree size and blocks per day, checkpoint and witnesses, verification,
events per kind."""

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from dashboards import selectors
from dashboards.selectors import KindCount, Period
from dashboards.tests.conftest import block, ledger_entries
from ledger.models import Cosignature, VerificationRun, Witness

pytestmark = pytest.mark.django_db


def test_an_empty_ledger(cast, client):
    figures = selectors.ledger_figures(period=Period())
    assert (figures.tree_size, figures.blocks_total, figures.blocks, figures.kinds) == (
        0,
        0,
        [],
        [],
    )
    assert figures.latest_block is None and figures.verification is None
    client.force_login(cast.meg)
    page = client.get(reverse("dashboard-ledger")).content.decode()
    assert 'data-testid="latest-checkpoint">none yet<' in page
    assert 'data-testid="verification">never run<' in page


def test_a_single_entry(cast):
    ledger_entries([("dataset.published", "2026-02-01")])
    block(0, 1, "2026-02-01")
    figures = selectors.ledger_figures(period=Period())
    assert figures.tree_size == 1 and figures.blocks_total == 1
    assert figures.kinds == [KindCount(kind="dataset.published", entries=1)]
    assert [(str(b.day), b.blocks, b.tree_size) for b in figures.blocks] == [("2026-02-01", 1, 1)]


@pytest.fixture
def log(cast):
    ledger_entries(
        [("dataset.published", "2026-02-01")] * 3
        + [("access.requested", "2026-02-01")]
        + [("access.requested", "2026-02-03")] * 2
        + [("data.downloaded", "2026-02-03")]
    )
    block(0, 2, "2026-02-01", hour=9)
    block(1, 4, "2026-02-01", hour=18)
    block(2, 7, "2026-02-03")
    witness = Witness.objects.create(
        institution=cast.acme, name="acme-w", url="https://w.acme.test", vkey="acme-w+1+AA"
    )
    Witness.objects.create(
        institution=cast.beta,
        name="beta-w",
        url="https://w.beta.test",
        vkey="beta-w+1+BB",
        last_status="refused",
    )
    for height in (1, 2):
        Cosignature.objects.create(
            block_id=height, witness=witness, signature_line=f"— acme-w sig{height}", timestamp=1
        )
    VerificationRun.objects.create(
        started_at=datetime(2026, 2, 3, 13, tzinfo=UTC),
        finished_at=datetime(2026, 2, 3, 13, 1, tzinfo=UTC),
        ok=True,
        entries_checked=7,
        blocks_checked=3,
    )
    return cast


def test_figures_by_hand(log, client):
    figures = selectors.ledger_figures(period=Period())
    assert figures.tree_size == 7 and figures.blocks_total == 3
    assert figures.kinds == [
        KindCount(kind="access.requested", entries=3),
        KindCount(kind="dataset.published", entries=3),
        KindCount(kind="data.downloaded", entries=1),
    ]
    assert [(str(b.day), b.blocks, b.tree_size) for b in figures.blocks] == [
        ("2026-02-01", 2, 4),
        ("2026-02-03", 1, 7),
    ]
    assert figures.latest_block.height == 2
    assert [(w.name, w.cosigned_latest, w.cosignatures) for w in figures.witnesses] == [
        ("acme-w", True, 2),
        ("beta-w", False, 0),
    ]
    client.force_login(log.meg)
    page = client.get(reverse("dashboard-ledger")).content.decode()
    assert "block 2, tree size 7" in page
    assert 'data-testid="verification">passed at' in page and "(7 entries, 3 blocks" in page


def test_the_date_range_changes_the_figures(log, client):
    figures = selectors.ledger_figures(period=Period(date(2026, 2, 2), date(2026, 2, 3)))
    assert figures.kinds == [
        KindCount(kind="access.requested", entries=2),
        KindCount(kind="data.downloaded", entries=1),
    ]
    assert [str(b.day) for b in figures.blocks] == ["2026-02-03"]
    client.force_login(log.mo)
    response = client.get(reverse("dashboard-ledger"), {"until": "2026-02-01"})
    assert response.context["charts"]["kinds"]["data"][0]["y"] == [3, 1]


def test_the_per_kind_counts_follow_the_log_as_it_grows(log):
    assert selectors.entries_per_kind(Period())[1] == 7
    ledger_entries([("access.approved", "2026-02-04")])
    kinds, size = selectors.entries_per_kind(Period())
    assert size == 8 and KindCount(kind="access.approved", entries=1) in kinds


def test_cached_counts_of_another_log_are_not_reused(cast, django_assert_max_num_queries):
    from django.core.cache import cache

    ledger_entries([("dataset.published", "2026-02-01")] * 2)
    selectors.entries_per_kind(Period())
    cached = cache.get(selectors._KIND_COUNTS_KEY)
    # As if counted on another database: same size, different last leaf.
    cache.set(selectors._KIND_COUNTS_KEY, {**cached, "last_leaf": b"x" * 32})
    kinds, _ = selectors.entries_per_kind(Period())
    assert kinds == [KindCount(kind="dataset.published", entries=2)]


def test_csv_export_of_the_kinds_matches(log, client):
    client.force_login(log.meg)
    response = client.get(reverse("dashboard-ledger-csv"), {"table": "kinds"})
    assert response.content.decode().splitlines() == [
        "Kind,Entries",
        "access.requested,3",
        "dataset.published,3",
        "data.downloaded,1",
    ]

"""The unfiltered view of each dashboard comes from a snapshot the worker rebuilds; filtered
views are computed on demand; each page says when its figures were computed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import wait_for
from dashboards import snapshots
from dashboards.models import DashboardSnapshot
from dashboards.services import snapshots_rebuild
from dashboards.tasks import rebuild_snapshots
from dashboards.tests.conftest import (
    access_request,
    at,
    block,
    dataset,
    download,
    grant,
    ledger_entries,
    node,
    storage_event,
    stored_object,
)
from portal.celery import app
from portal.models import WorkerHeartbeat
from portal.tasks import heartbeat

pytestmark = pytest.mark.django_db

PAGES = ["dashboard-usage", "dashboard-storage", "dashboard-ledger"]


@pytest.fixture
def figures(cast):
    ds = dataset(cast.acme, cast.alice.user, day="2026-03-02")
    request = access_request(
        ds,
        cast.beta,
        cast.dave.user,
        state="approved",
        created=at("2026-03-02", 9),
        decided=at("2026-03-02", 15),
    )
    download(grant(request, cast.alice.user), cast.dave.user, finished=at("2026-03-03"), size=10)
    access_request(ds, cast.beta, cast.dave.user, state="pending_decision", created=timezone.now())
    stored_object([node("n1"), node("n2"), node("n3")], size=100, stored=150, bad=1)
    storage_event("shard.repaired", "2026-03-02")
    ledger_entries([("dataset.published", "2026-03-02"), ("access.requested", "2026-03-03")])
    block(0, 2, "2026-03-03")
    return cast


def _tables(response) -> dict[str, list]:
    return {t.name: t.rows for t in response.context["tables"]}


@pytest.mark.parametrize("name", PAGES)
def test_a_snapshot_shows_what_the_live_page_shows(figures, client, name):
    client.force_login(figures.meg)
    live = client.get(reverse(name))
    snapshots_rebuild()
    served = client.get(reverse(name))
    assert _tables(served) == _tables(live)  # dates and datetimes survive the JSON
    assert served.context["charts"] == live.context["charts"]
    snapshot = DashboardSnapshot.objects.get(kind=name.removeprefix("dashboard-"))
    assert served.context["figures"].computed_at == snapshot.computed_at
    assert served.context["figures"].from_snapshot and not live.context["figures"].from_snapshot
    page = served.content.decode()
    assert snapshot.computed_at.isoformat() in page and 'data-testid="from-snapshot"' in page


def test_the_unfiltered_view_is_the_snapshot_until_rebuilt(figures, client):
    client.force_login(figures.meg)
    snapshots_rebuild(kinds=["usage"])
    dataset(figures.acme, figures.alice.user, day="2026-03-04")
    assert client.get(reverse("dashboard-usage")).context["figures"].total == 1
    # A filtered view is computed now, so it already sees the new listing.
    since = client.get(reverse("dashboard-usage"), {"since": "2026-03-01"})
    assert since.context["figures"].total == 2
    snapshots_rebuild(kinds=["usage"])
    assert client.get(reverse("dashboard-usage")).context["figures"].total == 2


@pytest.mark.parametrize("name", PAGES)
def test_a_page_from_the_snapshot_aggregates_nothing(figures, client, name):
    client.force_login(figures.meg)
    snapshots_rebuild()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse(name)).status_code == 200
    heavy = [
        q["sql"]
        for q in captured
        if any(
            f'FROM "{t}"' in q["sql"]
            for t in [
                "portal_accessrequest",
                "portal_download",
                "portal_dataset",
                "storage_shard",
                "storage_storedobject",
                "ledger_entry",
            ]
        )
    ]
    assert heavy == []


def test_rebuilding_is_idempotent(figures):
    snapshots_rebuild()
    first = {s.kind: s.payload for s in DashboardSnapshot.objects.all()}
    snapshots_rebuild()
    snapshots_rebuild(kinds=["ledger"])
    assert DashboardSnapshot.objects.count() == 3
    assert {s.kind: s.payload for s in DashboardSnapshot.objects.all()} == first


def test_an_older_computation_does_not_replace_a_newer_one(cast):
    now = timezone.now()
    snapshots.snapshot_write("usage", {"n": 2}, computed_at=now, took_ms=1)
    snapshots.snapshot_write("usage", {"n": 1}, computed_at=now - timedelta(seconds=5), took_ms=1)
    assert snapshots.snapshot_read("usage") == ({"n": 2}, now)


def test_a_stale_or_old_layout_snapshot_is_not_served(figures, client, settings):
    client.force_login(figures.meg)
    snapshots_rebuild(kinds=["usage"])
    dataset(figures.acme, figures.alice.user, day="2026-03-04")
    # Beat or the worker stopped ten intervals ago: the page computes its own figures.
    DashboardSnapshot.objects.update(
        computed_at=timezone.now() - timedelta(seconds=10 * settings.DASHBOARD_SNAPSHOT_SECONDS + 1)
    )
    assert client.get(reverse("dashboard-usage")).context["figures"].total == 2
    # A row in the layout of an earlier deploy is ignored, and the next rebuild removes it.
    DashboardSnapshot.objects.create(
        kind="usage", key="v0:all", payload={"old": True}, computed_at=timezone.now()
    )
    assert client.get(reverse("dashboard-usage")).context["figures"].total == 2
    snapshots_rebuild()
    assert not DashboardSnapshot.objects.filter(key="v0:all").exists()


def test_tagged_json_round_trip():
    from datetime import UTC, date, datetime

    value = {"d": date(2026, 3, 2), "t": datetime(2026, 3, 2, 9, tzinfo=UTC), "l": [(1, None)]}
    assert snapshots.decode(snapshots.encode(value)) == {**value, "l": [[1, None]]}


def test_beat_rebuilds_the_snapshots(settings):
    app.finalize()  # the periodic tasks are added when the app is finalized
    schedule = {entry["task"]: entry["schedule"] for entry in app.conf.beat_schedule.values()}
    assert schedule["dashboards.tasks.rebuild_snapshots"] == float(
        settings.DASHBOARD_SNAPSHOT_SECONDS
    )


@pytest.mark.celery
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_rebuilds_the_snapshots_once_per_kind(celery_worker, cast):
    dataset(cast.acme, cast.alice.user, day="2026-03-02")
    rebuild_snapshots.delay()
    rebuild_snapshots.delay()
    # The solo pool runs tasks in order: once this heartbeat is in, both rebuilds are done.
    since = timezone.now()
    heartbeat.delay()
    wait_for(
        lambda: WorkerHeartbeat.objects.filter(name="celery", beat_at__gt=since).first(),
        timeout=60,
    )
    assert sorted(DashboardSnapshot.objects.values_list("kind", flat=True)) == [
        "ledger",
        "storage",
        "usage",
    ]
    usage = DashboardSnapshot.objects.get(kind="usage")
    assert usage.payload["tables"]["category"][0]["datasets"] == 1


def test_a_ranged_storage_view_takes_nodes_from_the_snapshot(figures, client):
    client.force_login(figures.meg)
    snapshots_rebuild(kinds=["storage"])
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("dashboard-storage"), {"since": "2026-03-01"})
    # The range narrows the repairs only; the shard GROUP BY is the snapshot's.
    assert not any('FROM "storage_shard"' in q["sql"] for q in captured)
    assert any('FROM "storage_storageevent"' in q["sql"] for q in captured)
    figures_ = response.context["figures"]
    assert [n.bad_shards for n in figures_.nodes] == [1, 0, 0]
    assert [r.repaired for r in figures_.repairs] == [1]
    snapshot = DashboardSnapshot.objects.get(kind="storage")
    assert figures_.computed_at == snapshot.computed_at  # the older of the two

"""Snapshots carry the schema version of their payload: one of another version, or one whose
JSON does not fit the payload's dataclasses, is recomputed, never rendered."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from dashboards import selectors, snapshots
from dashboards.models import DashboardSnapshot
from dashboards.services import snapshots_rebuild
from dashboards.tests.conftest import block, dataset, ledger_entries, node, stored_object

# The layout of each payload in this SCHEMA_VERSION. When this test fails, the dataclasses of
# a payload changed (here or in another app's selectors): bump snapshots.SCHEMA_VERSION, say
# why beside it, and pin the new fingerprints under the new version.
FINGERPRINTS = {
    3: {"usage": "8a147babfc60e2ef", "storage": "d92275722b5acaf3", "ledger": "1d07ab78aa49dfe5"},
}


def test_the_schema_version_moves_with_the_payloads_layout():
    payloads = selectors.SNAPSHOT_PAYLOADS.items()
    found = {kind: snapshots.fingerprint(t) for kind, (t, _) in payloads}
    assert found == FINGERPRINTS.get(snapshots.SCHEMA_VERSION), (
        "a payload's layout changed: bump dashboards.snapshots.SCHEMA_VERSION. Now:\n"
        + "\n".join(f"{kind}: {snapshots.layout(t)}" for kind, (t, _) in payloads)
    )


@pytest.fixture
def figures(cast):
    dataset(cast.acme, cast.alice.user, day="2026-03-02")
    stored_object([node("n1"), node("n2"), node("n3")], size=100, stored=150, bad=1)
    ledger_entries([("dataset.published", "2026-03-02")])
    block(0, 1, "2026-03-02")
    return cast


PAGES = ["usage", "storage", "ledger"]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", PAGES)
def test_a_snapshot_of_another_schema_version_is_recomputed(figures, client, kind):
    client.force_login(figures.meg)
    snapshots_rebuild(kinds=[kind])
    # As an older deploy would have left it: its version, and figures of its own layout.
    DashboardSnapshot.objects.update(schema=snapshots.SCHEMA_VERSION - 1, payload={"old": 1})
    page = client.get(reverse(f"dashboard-{kind}"))
    assert page.status_code == 200 and not page.context["figures"].from_snapshot
    snapshots_rebuild(kinds=[kind])
    row = DashboardSnapshot.objects.get()
    assert row.schema == snapshots.SCHEMA_VERSION and "old" not in row.payload
    assert client.get(reverse(f"dashboard-{kind}")).context["figures"].from_snapshot


@pytest.mark.django_db
def test_a_snapshot_that_does_not_fit_its_schema_is_not_rendered(figures, client, caplog):
    client.force_login(figures.meg)
    snapshots_rebuild(kinds=["storage"])
    row = DashboardSnapshot.objects.get()
    # Same version, other layout: a field renamed without the version bumped.
    node_ = row.payload["nodes"][0]
    node_["bad"] = node_.pop("bad_shards")
    DashboardSnapshot.objects.filter(pk=row.pk).update(payload=row.payload)
    with caplog.at_level(logging.WARNING, logger="dashboards.snapshots"):
        page = client.get(reverse("dashboard-storage"))
    assert not page.context["figures"].from_snapshot
    assert [n.bad_shards for n in page.context["figures"].nodes] == [1, 0, 0]
    assert "bump SCHEMA_VERSION" in caplog.text and "payload.nodes[0]" in caplog.text


def test_the_migration_marks_the_rows_before_it_older_than_any_version():
    assert DashboardSnapshot._meta.get_field("schema").default == 0 < snapshots.SCHEMA_VERSION


@dataclass(frozen=True)
class _Row:
    day: date
    at: datetime | None
    n: int
    share: float | None
    counts: dict[str, int]


def test_load_builds_the_dataclasses_back():
    row = _Row(date(2026, 3, 2), datetime(2026, 3, 2, 9, tzinfo=UTC), 3, 1.5, {"a": 1})
    assert snapshots.load(list[_Row], snapshots.encode([row, row])) == [row, row]
    empty = _Row(date(2026, 3, 2), None, 0, None, {})
    assert snapshots.load(_Row, snapshots.encode(empty)) == empty


@pytest.mark.parametrize(
    "change",
    [
        {"n": "3"},  # a string for a number
        {"n": True},  # a boolean for a number
        {"n": None},  # nothing where something must be
        {"day": {"$datetime": "2026-03-02T09:00:00+00:00"}},  # a time for a day
        {"day": "2026-03-02"},  # an untagged day
        {"counts": {"a": "1"}},
        {"extra": 1},  # a field this layout does not have
    ],
)
def test_load_refuses_what_does_not_fit(change):
    good = snapshots.encode(_Row(date(2026, 3, 2), None, 3, None, {"a": 1}))
    with pytest.raises(snapshots.SchemaMismatch):
        snapshots.load(_Row, {**good, **change})
    missing = dict(good)
    del missing["share"]
    with pytest.raises(snapshots.SchemaMismatch):
        snapshots.load(_Row, missing)

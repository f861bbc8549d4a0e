"""A database from before the app move (issue 15) migrates with its data intact.

The test database is taken back to the last migrations before the consortium, catalog, access
and dashboards models left `portal`, filled through the models as they were then, and migrated
forward again. Runs on SQLite and, in CI, on PostgreSQL.
"""

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from access.models import Grant
from catalog.models import Dataset
from consortium.models import Institution, Membership
from dashboards.models import DashboardSnapshot
from ledger.models import Witness

BEFORE_THE_MOVE = [
    ("portal", "0015_ledger_event_of_grants_and_downloads"),
    ("ledger", "0005_sharing_queried_kind"),
    ("sharing", "0002_oauth_clients"),
    ("surveys", "0001_surveys_options_answers_snapshots"),
    ("consortium", None),
    ("catalog", None),
    ("access", None),
    ("dashboards", None),
]


def _migrate(targets: list[tuple[str, str | None]]):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


@pytest.mark.django_db(transaction=True)
def test_yesterdays_rows_are_todays_models() -> None:
    old = _migrate(BEFORE_THE_MOVE)
    try:
        assert ("portal", "dataset") in {
            (m._meta.app_label, m._meta.model_name) for m in old.get_models()
        }
        user = old.get_model("auth", "User").objects.create(username="ling")
        bank = old.get_model("portal", "Institution").objects.create(
            name="Bank of Hangzhou", slug="hangzhou", kind="bank", lei="5493001KJTIIGC8Y1R12"
        )
        old.get_model("portal", "Membership").objects.create(user=user, institution=bank)
        tag = old.get_model("portal", "Tag").objects.create(name="loans")
        dataset = old.get_model("portal", "Dataset").objects.create(
            institution=bank,
            title="SME loans 2024",
            description="Loans to small firms.",
            category="loans",
            sensitivity="confidential",
            terms="Research only.",
            created_by=user,
        )
        dataset.tags.add(tag)
        old.get_model("ledger", "Witness").objects.create(
            institution=bank, name="hangzhou-witness", url="https://w.example", vkey="w+1+AAAA"
        )
        old.get_model("portal", "DashboardSnapshot").objects.create(
            kind="usage", key="all", payload={}, computed_at="2026-01-01T00:00:00Z"
        )
        dataset_type = ContentType.objects.get(app_label="portal", model="dataset")
        permission = Permission.objects.get(content_type=dataset_type, codename="change_dataset")
    finally:
        # Forward again whatever happened, so later tests find the schema they expect.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    bank = Institution.objects.get(slug="hangzhou")
    assert Membership.objects.get(institution=bank).user.username == "ling"
    moved = Dataset.objects.get(title="SME loans 2024")
    assert moved.institution == bank and [t.name for t in moved.tags.all()] == ["loans"]
    assert Witness.objects.get(name="hangzhou-witness").institution == bank
    assert DashboardSnapshot.objects.filter(kind="usage").count() == 1
    assert not Grant.objects.exists()
    # Permissions (and admin history) follow their models to the new app labels.
    assert not ContentType.objects.filter(app_label="portal", model="dataset").exists()
    permission.refresh_from_db()
    assert permission.content_type == ContentType.objects.get_for_model(Dataset)
    assert permission.content_type.app_label == "catalog"

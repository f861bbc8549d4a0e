"""The dashboards' one table: figures computed by the worker, shared by every web process."""

from django.db import models


class DashboardSnapshot(models.Model):
    """One dashboard's figures for one filter, as the worker last computed them.

    Beat rebuilds the unfiltered view of each dashboard every `DASHBOARD_SNAPSHOT_SECONDS`
    (`dashboards.tasks.rebuild_snapshots`); pages read this row instead of aggregating
    10^5-10^6 rows per request, and say when it was computed. `key` names the filter and
    `schema` the payload's layout (`snapshots.SCHEMA_VERSION`), so a deploy that changes the
    layout recomputes instead of reading old rows.
    """

    kind = models.CharField(max_length=20)
    key = models.CharField(max_length=100)
    payload = models.JSONField()
    computed_at = models.DateTimeField()
    took_ms = models.PositiveIntegerField(default=0, help_text="How long the computation took.")
    schema = models.PositiveSmallIntegerField(
        default=0,
        help_text="The payload's layout version (dashboards.snapshots.SCHEMA_VERSION); "
        "0 for rows written before it had a column of its own.",
    )

    class Meta:
        db_table = "portal_dashboardsnapshot"
        constraints = [
            models.UniqueConstraint(fields=["kind", "key"], name="one_snapshot_per_dashboard_key")
        ]

    def __str__(self) -> str:
        return f"{self.kind} dashboard ({self.key}) at {self.computed_at:%Y-%m-%d %H:%M:%S}"

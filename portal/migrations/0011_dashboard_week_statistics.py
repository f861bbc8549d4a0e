"""PostgreSQL statistics on the usage dashboard's week column (dashboards.stats.WeekStart).

The planner cannot tell how few distinct weeks a computed week column holds: it guessed one
group per row, so it sorted every request or download (on disk, past work_mem) before grouping
instead of hashing into a few hundred groups. Extended statistics on the same expression
(PostgreSQL 14+) give it the real count once ANALYZE (or autovacuum) has run. The expressions
must stay the ones WeekStart writes; nothing on SQLite.
"""

from django.db import migrations

WEEK = "((date_bin('7 days', {column}, TIMESTAMPTZ '2001-01-01 00:00:00+00') AT TIME ZONE 'UTC')::date)"
STATISTICS = {
    # name: (table, other grouped columns, the datetime column of the week)
    "dataset_created_week": ("portal_dataset", "", "created_at"),
    "accessrequest_state_created_week": ("portal_accessrequest", "state, ", "created_at"),
    "download_institution_finished_week": ("portal_download", "institution_id, ", "finished_at"),
}


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, others, column) in STATISTICS.items():
        # Names and expressions are this module's constants, never input.
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {name} ON {others}{WEEK.format(column=column)} "
            f"FROM {table}"
        )
        schema_editor.execute(f"ANALYZE {table}")


def drop(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in STATISTICS:
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0010_download_dataset_institution_required"),
    ]

    operations = [migrations.RunPython(create, drop)]

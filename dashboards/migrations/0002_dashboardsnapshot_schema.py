"""Snapshots carry the schema version of their payload (issue 15).

The rows already there get 0, an older version than any code reads: they are recomputed,
never rendered, and the worker's next rebuild deletes them.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("dashboards", "0001_moved_from_portal"),
    ]

    operations = [
        migrations.AddField(
            model_name="dashboardsnapshot",
            name="schema",
            field=models.PositiveSmallIntegerField(
                default=0,
                help_text="The payload's layout version (dashboards.snapshots.SCHEMA_VERSION); "
                "0 for rows written before it had a column of its own.",
            ),
        ),
    ]

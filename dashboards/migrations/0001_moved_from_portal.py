"""The dashboards app takes over its models from `portal` (issue 15): same tables, new owner."""

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('portal', '0015_ledger_event_of_grants_and_downloads'),
    ]

    operations = [
        # The tables stay where they are (db_table); only Django's idea of which app
        # owns each model changes, so nothing is written to the database here.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DashboardSnapshot',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(max_length=20)),
                        ('key', models.CharField(max_length=100)),
                        ('payload', models.JSONField()),
                        ('computed_at', models.DateTimeField()),
                        ('took_ms', models.PositiveIntegerField(default=0, help_text='How long the computation took.')),
                    ],
                    options={
                        'db_table': 'portal_dashboardsnapshot',
                        'constraints': [models.UniqueConstraint(fields=('kind', 'key'), name='one_snapshot_per_dashboard_key')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

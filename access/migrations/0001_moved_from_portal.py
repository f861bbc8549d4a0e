"""The access app takes over its models from `portal` (issue 15): same tables, new owner."""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('portal', '0015_ledger_event_of_grants_and_downloads'),
        ('catalog', '0001_moved_from_portal'),
        ('consortium', '0001_moved_from_portal'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are (db_table); only Django's idea of which app
        # owns each model changes, so nothing is written to the database here.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AccessRequest',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('purpose', models.TextField(max_length=5000)),
                        ('columns', models.JSONField(help_text='Column names asked for, in file order.')),
                        ('filter_text', models.TextField(blank=True, max_length=2000, verbose_name='row filter as typed')),
                        ('filter', models.TextField(blank=True, verbose_name='row filter, canonical')),
                        ('duration_days', models.PositiveIntegerField()),
                        ('state', models.CharField(choices=[('pending_moderation', 'Waiting for a moderator'), ('pending_decision', "Waiting for the owner's decision"), ('rejected', 'Rejected by a moderator'), ('denied', 'Denied by the owner'), ('approved', 'Approved'), ('withdrawn', 'Withdrawn')], db_index=True, max_length=24)),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('moderated_at', models.DateTimeField(blank=True, null=True)),
                        ('moderation_reason', models.TextField(blank=True)),
                        ('decided_at', models.DateTimeField(blank=True, null=True)),
                        ('decision_reason', models.TextField(blank=True)),
                        ('withdrawn_at', models.DateTimeField(blank=True, null=True)),
                        ('dataset', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_requests', to='catalog.dataset')),
                        ('decided_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('institution', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='access_requests', to='consortium.institution')),
                        ('moderated_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('requested_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.datasetversion')),
                    ],
                    options={
                        'db_table': 'portal_accessrequest',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Grant',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('columns', models.JSONField(help_text='Granted column names, in file order.')),
                        ('filter', models.TextField(blank=True, verbose_name='row filter, canonical')),
                        ('masks', models.JSONField(default=dict, help_text='{column: pseudonymize | truncate:N | year_only}')),
                        ('key_id', models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        ('wrapped_key', models.BinaryField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('expires_at', models.DateTimeField(db_index=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('revoke_reason', models.TextField(blank=True)),
                        ('ledger_event_id', models.BigIntegerField(blank=True, editable=False, help_text='The ledger event of its approval.', null=True)),
                        ('expired_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                        ('granted_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('institution', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='grants', to='consortium.institution')),
                        ('request', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='grant', to='access.accessrequest')),
                        ('revoked_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('version', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='grants', to='catalog.datasetversion')),
                    ],
                    options={
                        'db_table': 'portal_grant',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Download',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('format', models.CharField(choices=[('csv', 'CSV'), ('ndjson', 'NDJSON'), ('parquet', 'Parquet')], max_length=10)),
                        ('csv_mode', models.CharField(blank=True, choices=[('safe', "Spreadsheet-safe (formula cells prefixed with ')"), ('raw', 'Raw (the exact values)')], max_length=4)),
                        ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('rows', models.BigIntegerField(default=0)),
                        ('ledger_event_id', models.BigIntegerField(blank=True, editable=False, help_text='Its data.downloaded ledger event.', null=True)),
                        ('bytes', models.BigIntegerField(default=0)),
                        ('sha256', models.CharField(blank=True, max_length=64)),
                        ('dataset', models.ForeignKey(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.dataset')),
                        ('institution', models.ForeignKey(editable=False, help_text='The grantee institution.', on_delete=django.db.models.deletion.PROTECT, related_name='+', to='consortium.institution')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('grant', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='downloads', to='access.grant')),
                    ],
                    options={
                        'db_table': 'portal_download',
                        'ordering': ['-started_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('message', models.CharField(max_length=500)),
                        ('url', models.CharField(blank=True, max_length=300)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('read_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'portal_notification',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='accessrequest',
                    constraint=models.UniqueConstraint(condition=models.Q(('state__in', ['pending_moderation', 'pending_decision'])), fields=('dataset', 'institution'), name='one_open_request_per_dataset_and_institution'),
                ),
                migrations.AddIndex(
                    model_name='download',
                    index=models.Index(condition=models.Q(('finished_at__isnull', False)), fields=['finished_at'], name='download_finished_at'),
                ),
                migrations.AddIndex(
                    model_name='notification',
                    index=models.Index(fields=['user', 'read_at'], name='notification_user_unread'),
                ),
            ],
            database_operations=[],
        ),
    ]

"""The catalog app takes over its models from `portal` (issue 15): same tables, new owner."""

import catalog.models
import django.contrib.postgres.search
import django.db.models.deletion
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('portal', '0015_ledger_event_of_grants_and_downloads'),
        ('consortium', '0001_moved_from_portal'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are (db_table); only Django's idea of which app
        # owns each model changes, so nothing is written to the database here.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Tag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=40, unique=True)),
                    ],
                    options={
                        'db_table': 'portal_tag',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Dataset',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('title', models.CharField(max_length=200)),
                        ('description', models.TextField(max_length=10000)),
                        ('category', models.CharField(choices=[('loans', 'Loans'), ('cards', 'Card transactions'), ('insurance', 'Insurance'), ('credit', 'Credit scores'), ('payments', 'Payments'), ('markets', 'Markets'), ('other', 'Other')], max_length=20)),
                        ('sensitivity', models.CharField(choices=[('internal', 'Internal'), ('confidential', 'Confidential'), ('restricted', 'Restricted')], max_length=20)),
                        ('terms', models.TextField(max_length=10000, verbose_name='terms of use')),
                        ('status', models.CharField(choices=[('active', 'Active'), ('withdrawn', 'Withdrawn'), ('suspended', 'Suspended')], db_index=True, default='active', max_length=20)),
                        ('status_reason', models.TextField(blank=True)),
                        ('search_text', models.TextField(blank=True, editable=False)),
                        ('search_vector', models.GeneratedField(db_persist=True, expression=catalog.models.SearchDocument(models.F('search_text')), output_field=django.contrib.postgres.search.SearchVectorField())),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('institution', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='datasets', to='consortium.institution')),
                    ],
                    options={
                        'db_table': 'portal_dataset',
                        'ordering': ['-updated_at'],
                    },
                ),
                migrations.CreateModel(
                    name='DatasetVersion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField()),
                        ('object_id', models.UUIDField(help_text='The storage object holding the plaintext CSV.')),
                        ('arrow_object_id', models.UUIDField(blank=True, help_text='The storage object holding the same rows as an Arrow IPC stream, typed as downloads read them, so a download need not parse the CSV; made by a worker after the version (until then downloads parse the CSV).', null=True)),
                        ('arrow_error', models.CharField(blank=True, help_text='Why the version has no Arrow copy, if it cannot.', max_length=500)),
                        ('cid', models.CharField(max_length=100, verbose_name='root CID')),
                        ('size_bytes', models.BigIntegerField()),
                        ('row_count', models.BigIntegerField()),
                        ('columns', models.JSONField(help_text='[{name, type, null_count}], in file order.')),
                        ('line_endings', models.CharField(blank=True, max_length=8)),
                        ('had_bom', models.BooleanField(default=False)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('dataset', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='versions', to='catalog.dataset')),
                    ],
                    options={
                        'db_table': 'portal_datasetversion',
                        'ordering': ['dataset', '-number'],
                    },
                ),
                migrations.CreateModel(
                    name='DatasetUpload',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('metadata', models.JSONField(default=dict, help_text='Title, description… for a new listing.')),
                        ('file_name', models.CharField(max_length=255)),
                        ('size_bytes', models.BigIntegerField()),
                        ('state', models.CharField(choices=[('received', 'Received'), ('checking', 'Checking'), ('storing', 'Storing'), ('ready', 'Ready'), ('failed', 'Failed')], default='received', max_length=20)),
                        ('progress_done', models.BigIntegerField(default=0)),
                        ('progress_total', models.BigIntegerField(default=0)),
                        ('problems', models.JSONField(default=list)),
                        ('more_problems', models.PositiveIntegerField(default=0)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('created_by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('dataset', models.ForeignKey(blank=True, help_text='Set for a new version of an existing listing, and once a new listing exists.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='uploads', to='catalog.dataset')),
                        ('institution', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='consortium.institution')),
                        ('version', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='catalog.datasetversion')),
                    ],
                    options={
                        'db_table': 'portal_datasetupload',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.AddField(
                    model_name='dataset',
                    name='current_version',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='catalog.datasetversion'),
                ),
                migrations.AddField(
                    model_name='dataset',
                    name='tags',
                    field=models.ManyToManyField(blank=True, related_name='datasets', to='catalog.tag'),
                ),
                migrations.AddConstraint(
                    model_name='datasetversion',
                    constraint=models.UniqueConstraint(fields=('dataset', 'number'), name='one_version_number'),
                ),
                migrations.AddIndex(
                    model_name='dataset',
                    index=models.Index(fields=['status', '-updated_at'], name='dataset_status_updated'),
                ),
                migrations.AddIndex(
                    model_name='dataset',
                    index=models.Index(fields=['category', 'status'], name='dataset_category_status'),
                ),
                migrations.AddIndex(
                    model_name='dataset',
                    index=models.Index(fields=['sensitivity', 'status'], name='dataset_sensitivity_status'),
                ),
                migrations.AddIndex(
                    model_name='dataset',
                    index=models.Index(fields=['institution', 'status'], name='dataset_institution_status'),
                ),
                migrations.AddIndex(
                    model_name='dataset',
                    index=models.Index(fields=['status', 'institution', 'category', 'sensitivity'], name='dataset_status_facets'),
                ),
            ],
            database_operations=[],
        ),
    ]

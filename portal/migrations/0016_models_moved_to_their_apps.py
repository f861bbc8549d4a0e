"""The consortium, catalog, access and dashboards models now belong to apps of their own.

`portal` keeps only WorkerHeartbeat. The tables keep their names (each model's db_table), so
the database is untouched; the content types (and with them permissions and admin history)
are relabelled to the new apps."""

from django.db import migrations

MOVED = {
    "consortium": ["institution", "membership", "consortiumrole", "apitoken"],
    "catalog": ["tag", "dataset", "datasetversion", "datasetupload"],
    "access": ["accessrequest", "grant", "download", "notification"],
    "dashboards": ["dashboardsnapshot"],
}


def _relabel(apps, *, forward):  # type: ignore[no-untyped-def]
    content_type = apps.get_model("contenttypes", "ContentType")
    for app, models in MOVED.items():
        old, new = ("portal", app) if forward else (app, "portal")
        for model in models:
            # A content type the new label already has (created by an earlier partial run)
            # wins; the old one is then left for `remove_stale_contenttypes`.
            if not content_type.objects.filter(app_label=new, model=model).exists():
                content_type.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_follow(apps, schema_editor):  # type: ignore[no-untyped-def]
    _relabel(apps, forward=True)


def content_types_return(apps, schema_editor):  # type: ignore[no-untyped-def]
    _relabel(apps, forward=False)


class Migration(migrations.Migration):

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('dashboards', '0001_moved_from_portal'),
        ('ledger', '0006_witness_institution_in_consortium'),
        ('portal', '0015_ledger_event_of_grants_and_downloads'),
        ('sharing', '0003_grants_in_access'),
        ('surveys', '0002_institutions_in_consortium'),
    ]

    operations = [
        # The tables stay where they are (db_table); only Django's idea of which app
        # owns each model changes, so nothing is written to the database here.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='accessrequest',
                    name='dataset',
                ),
                migrations.RemoveField(
                    model_name='accessrequest',
                    name='decided_by',
                ),
                migrations.RemoveField(
                    model_name='accessrequest',
                    name='institution',
                ),
                migrations.RemoveField(
                    model_name='accessrequest',
                    name='moderated_by',
                ),
                migrations.RemoveField(
                    model_name='accessrequest',
                    name='requested_by',
                ),
                migrations.RemoveField(
                    model_name='accessrequest',
                    name='version',
                ),
                migrations.RemoveField(
                    model_name='grant',
                    name='request',
                ),
                migrations.RemoveField(
                    model_name='apitoken',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='consortiumrole',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='DashboardSnapshot',
                ),
                migrations.RemoveField(
                    model_name='dataset',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='dataset',
                    name='current_version',
                ),
                migrations.RemoveField(
                    model_name='dataset',
                    name='institution',
                ),
                migrations.RemoveField(
                    model_name='dataset',
                    name='tags',
                ),
                migrations.RemoveField(
                    model_name='datasetversion',
                    name='dataset',
                ),
                migrations.RemoveField(
                    model_name='download',
                    name='dataset',
                ),
                migrations.RemoveField(
                    model_name='datasetupload',
                    name='dataset',
                ),
                migrations.RemoveField(
                    model_name='datasetupload',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='datasetupload',
                    name='institution',
                ),
                migrations.RemoveField(
                    model_name='datasetupload',
                    name='version',
                ),
                migrations.RemoveField(
                    model_name='datasetversion',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='grant',
                    name='version',
                ),
                migrations.RemoveField(
                    model_name='download',
                    name='grant',
                ),
                migrations.RemoveField(
                    model_name='download',
                    name='institution',
                ),
                migrations.RemoveField(
                    model_name='download',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='grant',
                    name='granted_by',
                ),
                migrations.RemoveField(
                    model_name='grant',
                    name='institution',
                ),
                migrations.RemoveField(
                    model_name='grant',
                    name='revoked_by',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='institution',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='AccessRequest',
                ),
                migrations.DeleteModel(
                    name='ApiToken',
                ),
                migrations.DeleteModel(
                    name='ConsortiumRole',
                ),
                migrations.DeleteModel(
                    name='Tag',
                ),
                migrations.DeleteModel(
                    name='Dataset',
                ),
                migrations.DeleteModel(
                    name='DatasetUpload',
                ),
                migrations.DeleteModel(
                    name='DatasetVersion',
                ),
                migrations.DeleteModel(
                    name='Download',
                ),
                migrations.DeleteModel(
                    name='Grant',
                ),
                migrations.DeleteModel(
                    name='Institution',
                ),
                migrations.DeleteModel(
                    name='Membership',
                ),
                migrations.DeleteModel(
                    name='Notification',
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_follow, content_types_return),
    ]

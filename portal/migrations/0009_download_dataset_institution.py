"""Each download names its listing and grantee itself (copied from its grant), so the usage
dashboard groups downloads without joining them to grants and versions."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_from_grants(apps, schema_editor):
    Download = apps.get_model("portal", "Download")
    Grant = apps.get_model("portal", "Grant")
    grant = Grant.objects.filter(pk=OuterRef("grant_id"))
    Download.objects.update(
        dataset_id=Subquery(grant.values("version__dataset_id")[:1]),
        institution_id=Subquery(grant.values("institution_id")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0008_access_download_finished_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="download",
            name="dataset",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="portal.dataset",
            ),
        ),
        migrations.AddField(
            model_name="download",
            name="institution",
            field=models.ForeignKey(
                editable=False,
                help_text="The grantee institution.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="portal.institution",
            ),
        ),
        migrations.RunPython(copy_from_grants, migrations.RunPython.noop, elidable=True),
    ]

"""The copies made in 0009 are required from now on (in a migration of its own: PostgreSQL
refuses to alter a table whose rows the same transaction changed under deferred foreign keys)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0009_download_dataset_institution"),
    ]

    operations = [
        migrations.AlterField(
            model_name="download",
            name="dataset",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="portal.dataset",
            ),
        ),
        migrations.AlterField(
            model_name="download",
            name="institution",
            field=models.ForeignKey(
                editable=False,
                help_text="The grantee institution.",
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="portal.institution",
            ),
        ),
    ]

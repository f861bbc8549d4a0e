"""Relations follow the models that moved out of `portal` into their own apps (issue 15)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('consortium', '0001_moved_from_portal'),
        ('surveys', '0001_surveys_options_answers_snapshots'),
    ]

    operations = [
        # The tables stay where they are (db_table); only Django's idea of which app
        # owns each model changes, so nothing is written to the database here.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='answer',
                    name='institution',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='consortium.institution'),
                ),
                migrations.AlterField(
                    model_name='survey',
                    name='institutions',
                    field=models.ManyToManyField(blank=True, help_text='Who may answer when the audience is “chosen institutions only”.', related_name='+', to='consortium.institution'),
                ),
            ],
            database_operations=[],
        ),
    ]

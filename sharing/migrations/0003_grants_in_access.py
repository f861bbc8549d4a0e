"""Relations follow the models that moved out of `portal` into their own apps (issue 15)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('access', '0001_moved_from_portal'),
        ('sharing', '0002_oauth_clients'),
    ]

    operations = [
        # The tables stay where they are (db_table); only Django's idea of which app
        # owns each model changes, so nothing is written to the database here.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='oauthclient',
                    name='grant',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sharing_clients', to='access.grant'),
                ),
                migrations.AlterField(
                    model_name='sharetable',
                    name='grant',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='share_table', to='access.grant'),
                ),
                migrations.AlterField(
                    model_name='sharingtoken',
                    name='grant',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sharing_tokens', to='access.grant'),
                ),
            ],
            database_operations=[],
        ),
    ]

"""The consortium app takes over its models from `portal` (issue 15): same tables, new owner."""

import consortium.models
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('portal', '0015_ledger_event_of_grants_and_downloads'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are (db_table); only Django's idea of which app
        # owns each model changes, so nothing is written to the database here.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Institution',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200, unique=True)),
                        ('slug', models.SlugField(max_length=80, unique=True)),
                        ('kind', models.CharField(choices=[('bank', 'Bank'), ('insurer', 'Insurer'), ('fintech', 'Fintech'), ('other', 'Other')], max_length=16)),
                        ('lei', models.CharField(help_text='ISO 17442 code', max_length=20, unique=True, validators=[consortium.models.validate_lei], verbose_name='LEI')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                    ],
                    options={
                        'db_table': 'portal_institution',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='ApiToken',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(blank=True, max_length=100)),
                        ('prefix', models.CharField(help_text='First characters, to recognise a token.', max_length=12)),
                        ('digest', models.CharField(max_length=64, unique=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('expires_at', models.DateTimeField()),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('last_used_at', models.DateTimeField(blank=True, null=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'portal_apitoken',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Membership',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('role', models.CharField(choices=[('staff', 'Staff'), ('steward', 'Steward')], default='staff', max_length=16)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('institution', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='memberships', to='consortium.institution')),
                        ('user', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='membership', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'portal_membership',
                        'ordering': ['institution__name', 'user__username'],
                    },
                ),
                migrations.CreateModel(
                    name='ConsortiumRole',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('role', models.CharField(choices=[('moderator', 'Moderator'), ('manager', 'Manager'), ('auditor', 'Auditor')], max_length=16)),
                        ('granted_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='consortium_roles', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'portal_consortiumrole',
                        'ordering': ['role', 'user__username'],
                        'constraints': [models.UniqueConstraint(fields=('user', 'role'), name='one_row_per_consortium_role')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

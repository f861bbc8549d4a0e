"""Grants' pseudonymization keys move into storage's table of wrapped keys (issue 15).

Each grant's wrapped key becomes a WrappedKey row whose id is the grant's old `key_id`: the
wrapping is bound to that id (`storage.crypto.wrap_key`), so the bytes move as they are and no
master key is needed here. Grants never recorded which master key wraps them, so the rows'
`master_key_id` stays empty: `key_unwrap` tries every configured master key for those, as
grants always were opened, and `manage.py storage_rewrap` gives them an id. Then the grant
points at its row and the old columns go. Backwards the bytes and ids are copied back.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery

BATCH = 1000


def _check_constraints_now(schema_editor):
    # PostgreSQL checks foreign keys at commit (DEFERRABLE INITIALLY DEFERRED), and an ALTER
    # TABLE of a table with checks still pending fails ("pending trigger events"): run them
    # now, so the schema changes after this step find none.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def grants_to_wrapped_keys(apps, schema_editor):
    db = schema_editor.connection.alias
    Grant = apps.get_model("access", "Grant")
    WrappedKey = apps.get_model("storage", "WrappedKey")
    rows = (
        Grant.objects.using(db)
        .filter(key_row__isnull=True)
        .order_by("pk")
        .values_list("pk", "key_id", "wrapped_key", "created_at")
    )
    after = None
    while True:
        page = list((rows if after is None else rows.filter(pk__gt=after))[:BATCH])
        if not page:
            break
        WrappedKey.objects.using(db).bulk_create(
            WrappedKey(
                id=key_id,
                purpose="grant",
                wrapped=bytes(wrapped),
                master_key_id="",
                created_at=created_at,
            )
            for _, key_id, wrapped, created_at in page
        )
        after = page[-1][0]
    Grant.objects.using(db).filter(key_row__isnull=True).update(key_row_id=F("key_id"))
    _check_constraints_now(schema_editor)


def wrapped_keys_to_grants(apps, schema_editor):
    db = schema_editor.connection.alias
    Grant = apps.get_model("access", "Grant")
    WrappedKey = apps.get_model("storage", "WrappedKey")
    # Every grant key is bound to its row's id, so that id is the old `key_id`.
    key = WrappedKey.objects.using(db).filter(pk=OuterRef("key_row_id"))
    Grant.objects.using(db).update(
        key_id=F("key_row_id"), wrapped_key=Subquery(key.values("wrapped")[:1])
    )
    rows = list(Grant.objects.using(db).values_list("key_row_id", flat=True))
    Grant.objects.using(db).update(key_row=None)
    for start in range(0, len(rows), BATCH):
        WrappedKey.objects.using(db).filter(pk__in=rows[start : start + BATCH]).delete()
    _check_constraints_now(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('access', '0001_moved_from_portal'),
        ('storage', '0003_wrapped_keys'),
    ]

    operations = [
        # A temporary name: `wrapped_key` is still the old column until it is dropped.
        migrations.AddField(
            model_name='grant',
            name='key_row',
            field=models.OneToOneField(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='storage.wrappedkey'),
        ),
        # Nullable, and `key_id` without its default, while the keys move: backwards the old
        # columns are then re-added empty (a default would give every grant the same UUID)
        # and filled before they are required again.
        migrations.AlterField(
            model_name='grant',
            name='key_id',
            field=models.UUIDField(editable=False, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name='grant',
            name='wrapped_key',
            field=models.BinaryField(editable=False, null=True),
        ),
        migrations.RunPython(grants_to_wrapped_keys, wrapped_keys_to_grants),
        migrations.RemoveField(
            model_name='grant',
            name='wrapped_key',
        ),
        migrations.RemoveField(
            model_name='grant',
            name='key_id',
        ),
        migrations.RenameField(
            model_name='grant',
            old_name='key_row',
            new_name='wrapped_key',
        ),
        migrations.AlterField(
            model_name='grant',
            name='wrapped_key',
            field=models.OneToOneField(editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='storage.wrappedkey'),
        ),
    ]

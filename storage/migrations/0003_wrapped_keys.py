"""Stored objects' data keys move into one table of wrapped keys (issue 15).

Each object's wrapped key and master key id are copied into a WrappedKey row whose id is the
object's id: the wrapping is bound to that id (`storage.crypto.wrap_key`), so the bytes move
as they are, and no master key is needed here. Then the object points at its row and the old
columns go. Backwards the bytes and ids are copied back, so every key still opens. Grants'
keys follow in access 0002.
"""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError
from django.db.models import F, OuterRef, Subquery

BATCH = 1000


def _check_constraints_now(schema_editor):
    # PostgreSQL checks foreign keys at commit (DEFERRABLE INITIALLY DEFERRED), and an ALTER
    # TABLE of a table with checks still pending fails ("pending trigger events"): run them
    # now, so the schema changes after this step find none.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def objects_to_wrapped_keys(apps, schema_editor):
    db = schema_editor.connection.alias
    StoredObject = apps.get_model("storage", "StoredObject")
    WrappedKey = apps.get_model("storage", "WrappedKey")
    rows = (
        StoredObject.objects.using(db)
        .filter(key_row__isnull=True)
        .order_by("pk")
        .values_list("pk", "wrapped_key", "master_key_id", "created_at")
    )
    after = None
    while True:
        page = list((rows if after is None else rows.filter(pk__gt=after))[:BATCH])
        if not page:
            break
        WrappedKey.objects.using(db).bulk_create(
            WrappedKey(
                id=pk,
                purpose="object",
                wrapped=bytes(wrapped),
                master_key_id=master_key_id,
                created_at=created_at,
            )
            for pk, wrapped, master_key_id, created_at in page
        )
        after = page[-1][0]
    StoredObject.objects.using(db).filter(key_row__isnull=True).update(key_row_id=F("pk"))
    _check_constraints_now(schema_editor)


def wrapped_keys_to_objects(apps, schema_editor):
    db = schema_editor.connection.alias
    StoredObject = apps.get_model("storage", "StoredObject")
    WrappedKey = apps.get_model("storage", "WrappedKey")
    # The old columns hold a key bound to the object's own id; a key row with another id
    # (none is made so today) could not go back without the master key.
    stray = StoredObject.objects.using(db).exclude(key_row_id=F("pk")).values_list("pk", flat=True)
    if stray.exists():
        raise IrreversibleError(
            f"Stored object {stray[0]} has a key row of another id; its key cannot move back."
        )
    key = WrappedKey.objects.using(db).filter(pk=OuterRef("key_row_id"))
    StoredObject.objects.using(db).update(
        wrapped_key=Subquery(key.values("wrapped")[:1]),
        master_key_id=Subquery(key.values("master_key_id")[:1]),
    )
    _check_constraints_now(schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('storage', '0002_table1run_progress'),
    ]

    operations = [
        migrations.CreateModel(
            name='WrappedKey',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('purpose', models.SlugField(editable=False, help_text='What the key is for: "object", "grant".', max_length=30)),
                ('wrapped', models.BinaryField(editable=False, help_text='AES-256-GCM under the master key.', max_length=60)),
                ('master_key_id', models.CharField(blank=True, db_index=True, editable=False, max_length=16)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('rewrapped_at', models.DateTimeField(blank=True, editable=False, null=True)),
            ],
        ),
        # A temporary name: `wrapped_key` is still the old column until it is dropped.
        migrations.AddField(
            model_name='storedobject',
            name='key_row',
            field=models.OneToOneField(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='storage.wrappedkey'),
        ),
        # Nullable while the keys move, so that backwards the old columns can be re-added
        # empty and filled before they are required again.
        migrations.AlterField(
            model_name='storedobject',
            name='wrapped_key',
            field=models.BinaryField(null=True),
        ),
        migrations.AlterField(
            model_name='storedobject',
            name='master_key_id',
            field=models.CharField(db_index=True, max_length=16, null=True),
        ),
        migrations.RunPython(objects_to_wrapped_keys, wrapped_keys_to_objects),
        migrations.RemoveField(
            model_name='storedobject',
            name='wrapped_key',
        ),
        migrations.RemoveField(
            model_name='storedobject',
            name='master_key_id',
        ),
        migrations.RenameField(
            model_name='storedobject',
            old_name='key_row',
            new_name='wrapped_key',
        ),
        migrations.AlterField(
            model_name='storedobject',
            name='wrapped_key',
            field=models.OneToOneField(editable=False, help_text="Its data key (the row's id is the object's).", on_delete=django.db.models.deletion.PROTECT, related_name='+', to='storage.wrappedkey'),
        ),
    ]

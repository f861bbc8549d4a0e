from django.db import migrations

from ledger.db_guard import guard_sql, unguard_sql


def install(apps, schema_editor):
    for statement in guard_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement)


def remove(apps, schema_editor):
    for statement in unguard_sql(schema_editor.connection.vendor):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_ledger_tables")]

    operations = [migrations.RunPython(install, remove)]

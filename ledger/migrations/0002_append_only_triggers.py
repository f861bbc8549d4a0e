"""The ledger's tables refuse UPDATE, DELETE and (on PostgreSQL) TRUNCATE.

The statements are written out here as they were when this migration was made: ledger/db_guard.py
may change later (it also serves the test database's flushes), but a migration that has run must
mean the same thing on every database it runs on.
"""

from django.db import migrations

INSTALL = {
    "postgresql": [
        """
            CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
            BEGIN
                -- No percent-sign placeholders: drivers would read them as query parameters.
                RAISE EXCEPTION USING
                    MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused',
                    ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql
            """,
        "CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_entry FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_entry_no_truncate BEFORE TRUNCATE ON ledger_entry FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_treenode_append_only BEFORE UPDATE OR DELETE ON ledger_treenode FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_treenode_no_truncate BEFORE TRUNCATE ON ledger_treenode FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_block_append_only BEFORE UPDATE OR DELETE ON ledger_block FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_block_no_truncate BEFORE TRUNCATE ON ledger_block FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_cosignature_append_only BEFORE UPDATE OR DELETE ON ledger_cosignature FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
        "CREATE TRIGGER ledger_cosignature_no_truncate BEFORE TRUNCATE ON ledger_cosignature FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    ],
    "sqlite": [
        "CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_entry BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only: UPDATE refused'); END",
        "CREATE TRIGGER ledger_entry_no_delete BEFORE DELETE ON ledger_entry BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only: DELETE refused'); END",
        "CREATE TRIGGER ledger_treenode_no_update BEFORE UPDATE ON ledger_treenode BEGIN SELECT RAISE(ABORT, 'ledger_treenode is append-only: UPDATE refused'); END",
        "CREATE TRIGGER ledger_treenode_no_delete BEFORE DELETE ON ledger_treenode BEGIN SELECT RAISE(ABORT, 'ledger_treenode is append-only: DELETE refused'); END",
        "CREATE TRIGGER ledger_block_no_update BEFORE UPDATE ON ledger_block BEGIN SELECT RAISE(ABORT, 'ledger_block is append-only: UPDATE refused'); END",
        "CREATE TRIGGER ledger_block_no_delete BEFORE DELETE ON ledger_block BEGIN SELECT RAISE(ABORT, 'ledger_block is append-only: DELETE refused'); END",
        "CREATE TRIGGER ledger_cosignature_no_update BEFORE UPDATE ON ledger_cosignature BEGIN SELECT RAISE(ABORT, 'ledger_cosignature is append-only: UPDATE refused'); END",
        "CREATE TRIGGER ledger_cosignature_no_delete BEFORE DELETE ON ledger_cosignature BEGIN SELECT RAISE(ABORT, 'ledger_cosignature is append-only: DELETE refused'); END",
    ],
}

REMOVE = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry",
        "DROP TRIGGER IF EXISTS ledger_entry_no_truncate ON ledger_entry",
        "DROP TRIGGER IF EXISTS ledger_treenode_append_only ON ledger_treenode",
        "DROP TRIGGER IF EXISTS ledger_treenode_no_truncate ON ledger_treenode",
        "DROP TRIGGER IF EXISTS ledger_block_append_only ON ledger_block",
        "DROP TRIGGER IF EXISTS ledger_block_no_truncate ON ledger_block",
        "DROP TRIGGER IF EXISTS ledger_cosignature_append_only ON ledger_cosignature",
        "DROP TRIGGER IF EXISTS ledger_cosignature_no_truncate ON ledger_cosignature",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS ledger_entry_no_update",
        "DROP TRIGGER IF EXISTS ledger_entry_no_delete",
        "DROP TRIGGER IF EXISTS ledger_treenode_no_update",
        "DROP TRIGGER IF EXISTS ledger_treenode_no_delete",
        "DROP TRIGGER IF EXISTS ledger_block_no_update",
        "DROP TRIGGER IF EXISTS ledger_block_no_delete",
        "DROP TRIGGER IF EXISTS ledger_cosignature_no_update",
        "DROP TRIGGER IF EXISTS ledger_cosignature_no_delete",
    ],
}


def _statements(table, vendor):
    if vendor not in table:
        raise NotImplementedError(f"no append-only triggers written for {vendor}")
    return table[vendor]


def install(apps, schema_editor):
    for statement in _statements(INSTALL, schema_editor.connection.vendor):
        schema_editor.execute(statement)


def remove(apps, schema_editor):
    for statement in _statements(REMOVE, schema_editor.connection.vendor):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_ledger_tables")]

    operations = [migrations.RunPython(install, remove)]

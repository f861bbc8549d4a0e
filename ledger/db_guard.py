"""Database triggers that make the ledger's tables append-only, on PostgreSQL and SQLite.

The application never updates or deletes a ledger row; these triggers make the database refuse
it too, so a bug, a stray admin action or a hand-typed statement cannot rewrite history
quietly. (Someone who can drop triggers can still change rows: `ledger_verify` and the
witnesses catch that.)
"""

GUARDED_TABLES = ("ledger_entry", "ledger_treenode", "ledger_block", "ledger_cosignature")


def guard_sql(vendor: str) -> list[str]:
    """Statements that install the triggers on this database vendor.

    Migration 0002 holds its own copy, as these were when it was made: a change here needs a
    migration of its own to reach existing databases.
    """
    if vendor == "postgresql":
        statements = [
            """
            CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger AS $$
            BEGIN
                -- No percent-sign placeholders: drivers would read them as query parameters.
                RAISE EXCEPTION USING
                    MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused',
                    ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql
            """
        ]
        for table in GUARDED_TABLES:
            statements += [
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
            ]
        return statements
    if vendor == "sqlite":
        statements = []
        for table in GUARDED_TABLES:
            for op in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {op} refused'); END"
                )
        return statements
    raise NotImplementedError(f"no append-only triggers written for {vendor}")


def unguard_sql(vendor: str) -> list[str]:
    """Statements that remove the triggers (test database flushes; 0002 has its own copy)."""
    if vendor == "postgresql":
        statements = []
        for table in GUARDED_TABLES:
            statements += [
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            ]
        return statements
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_{op}"
            for table in GUARDED_TABLES
            for op in ("update", "delete")
        ]
    raise NotImplementedError(f"no append-only triggers written for {vendor}")

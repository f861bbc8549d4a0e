"""The database itself refuses to rewrite the ledger; `ledger_verify` names what was changed
behind the triggers' back."""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from ledger.db_guard import GUARDED_TABLES, guard_sql, unguard_sql
from ledger.models import Block, Cosignature, Entry, Witness
from ledger.verification import verify_ledger
from portal.tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed_log(seal_blocks):
    seal_blocks(20, 5)


@pytest.fixture
def fake_cosignature(sealed_log):
    """A row in the cosignature table too, so UPDATE and DELETE have something to refuse."""
    block = Block.objects.order_by("-height").first()
    witness = Witness.objects.create(
        institution=InstitutionFactory(), name="w", url="http://127.0.0.1:1", vkey="w+0+AA"
    )
    Cosignature.objects.create(block=block, witness=witness, signature_line="— w AAAA", timestamp=1)


@pytest.fixture
def triggers_dropped():
    with connection.cursor() as cursor:
        for statement in unguard_sql(connection.vendor):
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        for statement in guard_sql(connection.vendor):
            cursor.execute(statement)


@pytest.mark.parametrize("table", GUARDED_TABLES)
@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
def test_database_refuses_update_and_delete(fake_cosignature, table, statement):
    column = {
        "ledger_entry": "kind",
        "ledger_treenode": "hash",
        "ledger_block": "checkpoint",
        "ledger_cosignature": "signature_line",
    }[table]
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(t=table, c=column))


def test_orm_delete_is_refused_too(sealed_log):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Entry.objects.filter(index=3).delete()
    assert Entry.objects.count() == 25


@pytest.mark.postgres
def test_truncate_is_refused_on_postgresql(sealed_log):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE ledger_entry CASCADE")


def test_verify_passes_on_an_honest_log(sealed_log):
    result = verify_ledger()
    assert result.ok, result.first_problem
    assert (result.entries_checked, result.blocks_checked) == (25, 2)
    call_command("ledger_verify")


def test_verify_names_an_entry_changed_behind_the_triggers(sealed_log, triggers_dropped):
    entry = Entry.objects.get(index=13)
    tampered = bytes(entry.data).replace(b'"n":13', b'"n":99')
    Entry.objects.filter(index=13).update(data=tampered)
    result = verify_ledger()
    assert not result.ok
    assert result.first_problem.startswith("entry 13:")
    with pytest.raises(CommandError, match="entry 13"):
        call_command("ledger_verify")


def test_verify_names_a_consistently_rewritten_entry_by_its_tree_node(sealed_log, triggers_dropped):
    # Rewrite the bytes and the stored leaf hash together: the tree still disagrees.
    from ledger import merkle

    entry = Entry.objects.get(index=4)
    tampered = bytes(entry.data).replace(b'"n":4', b'"n":5')
    Entry.objects.filter(index=4).update(data=tampered, leaf_hash=merkle.leaf_hash(tampered))
    result = verify_ledger()
    assert "(level 0, index 4)" in result.first_problem


def test_verify_names_a_block_whose_root_was_changed(sealed_log, triggers_dropped):
    Block.objects.filter(height=1).update(root_hash=bytes(32))
    result = verify_ledger()
    assert result.first_problem.startswith("block 1:")


def test_verify_names_a_deleted_entry(sealed_log, triggers_dropped):
    Entry.objects.filter(index=7).delete()
    assert verify_ledger().first_problem == "entry 7 is missing"

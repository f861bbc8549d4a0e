"""record_event → outbox → append → seal: what each step writes, and that nothing is lost or
written twice."""

import itertools
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from ledger import merkle
from ledger.canonical import parse_canonical_json
from ledger.keys import log_verifier
from ledger.models import Block, Entry, OutboxEvent, TreeNode
from ledger.notes import open_checkpoint
from ledger.services import append_all, append_pending, record_event, seal_block_if_due
from portal.errors import DomainError
from portal.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_record_event_writes_only_the_outbox(record_many):
    record_many(3)
    assert OutboxEvent.objects.count() == 3
    assert Entry.objects.count() == 0


def test_an_event_of_a_rolled_back_change_is_not_recorded():
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event("dataset.published", None, {"dataset": "x"})
        raise RuntimeError("the change failed")
    assert not OutboxEvent.objects.exists()


def test_unknown_kind_is_refused():
    with pytest.raises(DomainError, match="not a ledger event kind"):
        record_event("dataset.eaten", None, {})


def test_entries_are_canonical_json_naming_actor_and_subject():
    member = MembershipFactory(user__username="sam", institution__slug="northbank")
    with transaction.atomic():
        record_event("access.approved", member.user, {"request": 7, "columns": ["b", "a"]})
    append_all()
    entry = Entry.objects.get()
    data = bytes(entry.data)
    decoded = parse_canonical_json(data)  # raises if not canonical
    assert decoded["kind"] == "access.approved"
    assert decoded["v"] == 2
    # The person only as a commitment: the log names institutions, never people.
    assert decoded["actor"] == {"institution": "northbank"}
    assert set(decoded["commitments"]) == {"user"}
    assert b"sam" not in data
    assert decoded["subject"] == {"request": 7, "columns": ["b", "a"]}
    assert decoded["time"].endswith("Z")
    assert bytes(entry.leaf_hash) == merkle.leaf_hash(data)
    assert entry.actor_institution == "northbank"


def test_append_is_in_order_and_exactly_once(record_many):
    record_many(10)
    assert append_pending(batch=4).appended == 4
    record_many(5, start=10)
    assert append_all() == 11
    assert append_all() == 0  # a duplicate delivery finds nothing to do
    numbers = [
        json.loads(bytes(d))["subject"]["n"] for d in Entry.objects.values_list("data", flat=True)
    ]
    assert numbers == list(range(15))
    assert list(Entry.objects.values_list("index", flat=True)) == list(range(15))
    assert not OutboxEvent.objects.exists()


def test_tree_store_holds_every_perfect_subtree_once(record_many):
    record_many(13)
    append_all()
    # 2n - popcount(n) perfect subtrees for n leaves
    assert TreeNode.objects.count() == 2 * 13 - bin(13).count("1")
    leaves = [bytes(h) for h in Entry.objects.values_list("leaf_hash", flat=True)]
    from ledger.services import root_at

    assert root_at(13) == merkle.root_hash(leaves)


def test_block_sealed_after_n_entries(record_many, settings):
    settings.LEDGER_BLOCK_MAX_ENTRIES = 5
    settings.LEDGER_BLOCK_MAX_SECONDS = 3600
    record_many(4)
    append_all()
    assert not Block.objects.exists()
    record_many(3, start=4)
    append_all()
    block = Block.objects.get()
    assert block.tree_size == 7 and block.height == 0 and bytes(block.prev_hash) == bytes(32)


def test_block_sealed_after_t_seconds(record_many, settings):
    settings.LEDGER_BLOCK_MAX_ENTRIES = 1000
    settings.LEDGER_BLOCK_MAX_SECONDS = 10
    record_many(2)
    append_all()
    assert seal_block_if_due() is None
    later = timezone.now() + timedelta(seconds=11)
    block = seal_block_if_due(now=later)
    assert block is not None and block.tree_size == 2
    assert seal_block_if_due(now=later) is None  # nothing new: no empty block


def test_blocks_chain_and_checkpoints_verify(record_many):
    for start in (0, 3, 9):
        record_many(3 + start, start=start)
        append_all()
        seal_block_if_due(force=True)
    blocks = list(Block.objects.order_by("height"))
    assert [b.height for b in blocks] == [0, 1, 2]
    for previous, block in itertools.pairwise(blocks):
        assert bytes(block.prev_hash) == bytes(previous.block_hash)
    for block in blocks:
        checkpoint, verified = open_checkpoint(block.checkpoint.encode(), [log_verifier()])
        assert checkpoint.size == block.tree_size
        assert checkpoint.root_hash == bytes(block.root_hash)
        assert verified.verified


def test_no_entry_over_the_fixed_size():
    from ledger.services import LEDGER_MAX_ENTRY_BYTES, LedgerEntryTooLarge

    assert LEDGER_MAX_ENTRY_BYTES == 65535  # what a tlog-tiles entry bundle can hold
    with pytest.raises(LedgerEntryTooLarge, match="at most 65,535 bytes") as caught:
        record_event("dataset.published", None, {"dataset": "x", "title": "t" * 70_000})
    assert caught.value.code == "too_large"
    assert not OutboxEvent.objects.exists()
    # UTF-8 bytes count, not characters.
    with pytest.raises(LedgerEntryTooLarge):
        record_event("dataset.published", None, {"dataset": "x", "title": "€" * 22_000})
    event = record_event("dataset.published", None, {"dataset": "x", "title": "t" * 60_000})
    assert len(bytes(event.payload)) <= LEDGER_MAX_ENTRY_BYTES
    # The limit is on the entry's own bytes, commitments included: one byte over is refused.
    envelope = len(bytes(event.payload)) - 60_000
    with pytest.raises(LedgerEntryTooLarge):
        record_event(
            "dataset.published", None, {"dataset": "x", "title": "t" * (65_536 - envelope)}
        )
    record_event("dataset.published", None, {"dataset": "x", "title": "t" * (65_535 - envelope)})

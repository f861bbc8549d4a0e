"""Writing the ledger: record an event, append the outbox to the log, seal and sign blocks.

The only way in is `record_event`, called inside the transaction that made the change: it
writes an outbox row and nothing else, so a web request never waits for the log and a change
that rolls back leaves no event. After commit a Celery task (sent through `portal.tasking`) runs
`append_pending`, which moves outbox rows into the log in id order and deletes them in the same
transaction, so each event lands exactly once whatever retries, crashes or duplicate deliveries
happen.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from ledger import merkle, tiles
from ledger.canonical import canonical_json
from ledger.commitments import commitment, new_salt
from ledger.keys import log_signer
from ledger.models import Block, Entry, EventKind, Opening, OutboxEvent, TreeNode, Witness
from ledger.notes import Checkpoint, sign_checkpoint
from portal import cache_versions, tasking
from portal.errors import DomainError

log = logging.getLogger(__name__)

# 2: the acting user, purposes, reasons and filters only as salted commitments (version 1
# entries, which held them in clear, stay in the log as they were: it is append-only).
ENTRY_VERSION = 2
GENESIS_HASH = bytes(32)
# Any constant works: it only has to be the same for every process that appends.
_APPEND_LOCK_ID = 0x6C6564676572  # "ledger"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _actor_institution(actor: AbstractBaseUser | None) -> str | None:
    membership = getattr(actor, "membership", None)
    try:
        return membership.institution.slug if membership else None
    except Exception:  # noqa: BLE001 - a user without membership reads as no institution
        return None


# No entry is larger than this: C2SP tlog-tiles bundles prefix each entry with a uint16 length
# (ledger/tiles.py), and each entry is read whole by verifiers, witnesses and receipts, so one
# change must not be able to make the log heavy (issue 14). Measured on the entry's own bytes.
LEDGER_MAX_ENTRY_BYTES = tiles.MAX_ENTRY_BYTES


class LedgerEntryTooLarge(DomainError):
    """A change whose ledger entry would pass LEDGER_MAX_ENTRY_BYTES: it is refused whole."""


def check_entry_size(payload: bytes) -> None:
    """Refuse an entry of more than LEDGER_MAX_ENTRY_BYTES (canonical UTF-8 bytes)."""
    if len(payload) > LEDGER_MAX_ENTRY_BYTES:
        raise LedgerEntryTooLarge(
            f"This change would make a ledger entry of {len(payload):,} bytes; an entry holds at"
            f" most {LEDGER_MAX_ENTRY_BYTES:,} bytes. Shorten what it records (title, reason,"
            " columns, filter).",
            code="too_large",
        )


def record_event(
    kind: str,
    actor: AbstractBaseUser | None,
    subject: dict[str, Any],
    *,
    private: Mapping[str, str] | None = None,
    scope: str = "",
) -> OutboxEvent:
    """Record a state change for the log, inside the caller's transaction.

    `actor` is the person who acted (None for the portal itself, e.g. expiry). `subject` names
    what changed and what any participant may know (dataset id, request id, columns, masks,
    expiry, digest…) and must be JSON: the entry's bytes are fixed here, so what is logged is
    what was decided. `private` holds what only the parties may know (a purpose, a reason, a
    row filter): the entry gets a salted commitment to each value (`ledger.commitments`), and
    so does the acting person's username, under "user". The openings are kept under `scope`,
    the object whose parties may read them ("request:42").
    """
    if kind not in EventKind.values:
        raise DomainError(f"“{kind}” is not a ledger event kind.", field="kind")
    hidden = dict(private or {})
    if actor is not None:
        hidden["user"] = actor.get_username()
    salts = {field: new_salt() for field in hidden}
    now = timezone.now()
    entry: dict[str, Any] = {
        "v": ENTRY_VERSION,
        "kind": kind,
        "time": _iso(now),
        "actor": {"institution": _actor_institution(actor)},
        "subject": subject,
        "commitments": {
            field: commitment(salts[field], value).hex() for field, value in hidden.items()
        },
    }
    payload = canonical_json(entry)
    check_entry_size(payload)
    event = OutboxEvent.objects.create(kind=kind, payload=payload, recorded_at=now)
    Opening.objects.bulk_create(
        Opening(
            event_id=event.pk,
            kind=kind,
            scope=scope,
            field=field,
            value=value,
            salt=salts[field],
            created_at=now,
        )
        for field, value in hidden.items()
    )
    # One wake-up per transaction is enough, however many events it records. If the broker is
    # down the event waits in the outbox and beat's periodic append picks it up: later, never lost.
    tasking.send("ledger.tasks.append_outbox", once=True)
    return event


@dataclass(frozen=True)
class AppendOutcome:
    appended: int
    tree_size: int
    sealed: Block | None


def _lock_log() -> None:
    # One appender at a time. On SQLite every write transaction already starts with BEGIN
    # IMMEDIATE (settings), which serialises writers; PostgreSQL needs an explicit lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_APPEND_LOCK_ID])


def _tree_size() -> int:
    last = Entry.objects.order_by("-index").values_list("index", flat=True).first()
    return 0 if last is None else last + 1


def read_nodes(nodes: list[merkle.Node]) -> dict[tuple[int, int], bytes]:
    """Read perfect-subtree hashes in one primary-key lookup."""
    if not nodes:
        return {}
    keys = {TreeNode.key_of(n.level, n.index): (n.level, n.index) for n in nodes}
    found = {
        keys[key]: bytes(h)
        for key, h in TreeNode.objects.filter(key__in=list(keys)).values_list("key", "hash")
    }
    missing = [n for n in nodes if (n.level, n.index) not in found]
    if missing:
        raise LookupError(f"the tree store lacks nodes {missing[:3]}")
    return found


def append_pending(*, batch: int | None = None, now: datetime | None = None) -> AppendOutcome:
    """Append up to `batch` outbox events to the log in one transaction; seal a block if due."""
    batch = batch or settings.LEDGER_APPEND_BATCH
    with transaction.atomic():
        _lock_log()
        events = list(OutboxEvent.objects.order_by("id")[:batch])
        size = _tree_size()
        sealed = None
        if events:
            frontier_nodes = list(merkle.frontier_nodes(size))
            stored = read_nodes(frontier_nodes)
            frontier = [stored[(n.level, n.index)] for n in frontier_nodes]
            leaves = [merkle.leaf_hash(bytes(e.payload)) for e in events]
            result = merkle.append_leaves(size, frontier, leaves)
            appended_at = timezone.now()
            Entry.objects.bulk_create(
                [_entry(size + i, e, leaves[i], appended_at) for i, e in enumerate(events)]
            )
            TreeNode.objects.bulk_create(
                [
                    TreeNode(key=TreeNode.key_of(n.level, n.index), hash=n.hash)
                    for n in result.new_nodes
                ]
            )
            OutboxEvent.objects.filter(id__in=[e.id for e in events]).delete()
            cache_versions.bump("ledger")  # the entries, written with bulk_create
            size = result.tree_size
            sealed = seal_block_if_due(tree_size=size, root=result.root, now=now)
    return AppendOutcome(appended=len(events), tree_size=size, sealed=sealed)


def _entry(index: int, event: OutboxEvent, leaf: bytes, appended_at: datetime) -> Entry:
    data = bytes(event.payload)
    # The entry's own JSON is the truth; these columns only make it searchable.
    decoded = json.loads(data)
    subject = decoded.get("subject") or {}
    actor = decoded.get("actor") or {}
    return Entry(
        index=index,
        event_id=event.id,
        kind=event.kind,
        data=data,
        leaf_hash=leaf,
        dataset=str(subject.get("dataset") or "")[:64],
        actor_institution=(actor.get("institution") or "")[:80],
        actor_user=(actor.get("user") or "")[:150],
        recorded_at=event.recorded_at,
        appended_at=appended_at,
    )


def append_all(*, now: datetime | None = None) -> int:
    """Drain the outbox; returns how many events were appended."""
    total = 0
    while True:
        outcome = append_pending(now=now)
        total += outcome.appended
        if outcome.appended == 0:
            return total


def block_header(
    *, height: int, prev_hash: bytes, tree_size: int, root_hash: bytes, sealed_at: datetime
) -> bytes:
    """The canonical bytes a block's hash is taken over."""
    return canonical_json(
        {
            "height": height,
            "prev_hash": prev_hash.hex(),
            "tree_size": tree_size,
            "root_hash": root_hash.hex(),
            "sealed_at": _iso(sealed_at),
        }
    )


def checkpoint_for(block_height: int, block_hash: bytes, tree_size: int, root: bytes) -> Checkpoint:
    # The extension line ties the signed checkpoint to the block chain; C2SP tlog-checkpoint
    # lets verifiers that do not know it ignore it.
    extension = f"bizi-block {block_height} {base64.b64encode(block_hash).decode()}"
    return Checkpoint(settings.LEDGER_ORIGIN, tree_size, root, (extension,))


def seal_block_if_due(
    *,
    tree_size: int | None = None,
    root: bytes | None = None,
    now: datetime | None = None,
    force: bool = False,
) -> Block | None:
    """Seal the entries since the last block if there are N of them, or the oldest waited T.

    Must run inside the appender's transaction (or takes the lock itself when called alone).
    """
    now = now or timezone.now()
    with transaction.atomic():
        _lock_log()
        if tree_size is None:
            tree_size = _tree_size()
        last = Block.objects.order_by("-height").first()
        sealed_size = last.tree_size if last else 0
        pending = tree_size - sealed_size
        if pending <= 0:
            return None
        due = force or pending >= settings.LEDGER_BLOCK_MAX_ENTRIES
        if not due:
            first_unsealed = (
                Entry.objects.filter(index=sealed_size)
                .values_list("appended_at", flat=True)
                .first()
            )
            waited = now - first_unsealed if first_unsealed else timedelta(0)
            due = waited.total_seconds() >= settings.LEDGER_BLOCK_MAX_SECONDS
        if not due:
            return None
        if root is None:
            root = root_at(tree_size)
        height = last.height + 1 if last else 0
        prev_hash = bytes(last.block_hash) if last else GENESIS_HASH
        header = block_header(
            height=height, prev_hash=prev_hash, tree_size=tree_size, root_hash=root, sealed_at=now
        )
        block_hash = hashlib.sha256(header).digest()
        note = sign_checkpoint(checkpoint_for(height, block_hash, tree_size, root), log_signer())
        block = Block.objects.create(
            height=height,
            prev_hash=prev_hash,
            tree_size=tree_size,
            root_hash=root,
            sealed_at=now,
            block_hash=block_hash,
            checkpoint=note.decode(),
        )
        if Witness.objects.filter(active=True).exists():
            # Beat's `witness_pending` sends it again to a witness this one does not reach.
            tasking.send("ledger.tasks.send_to_witnesses", block.height)
        return block


def root_at(tree_size: int) -> bytes:
    if tree_size == 0:
        return merkle.EMPTY_ROOT
    nodes = list(merkle.subtree_nodes(0, tree_size))
    found = read_nodes(nodes)
    return merkle.fold([found[(n.level, n.index)] for n in nodes])

"""Reading the ledger: entries, blocks, checkpoints and proofs, in O(log n) node reads."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncDate

from ledger import merkle, tiles
from ledger.commitments import commitment, opens
from ledger.models import Block, Cosignature, Entry, Opening, TreeNode, VerificationRun, Witness
from ledger.notes import NoteSignature, parse_note
from ledger.services import read_nodes
from portal.errors import DomainError
from portal.queries import in_range

MAX_ENTRIES_PER_PAGE = 1000


def log_size() -> int:
    last = Entry.objects.order_by("-index").values_list("index", flat=True).first()
    return 0 if last is None else last + 1


def latest_block() -> Block | None:
    return Block.objects.order_by("-height").first()


def blocks_newest_first() -> QuerySet[Block]:
    return Block.objects.order_by("-height")


def tree_size_before(block: Block) -> int:
    """The log's size when the block before `block` was sealed: its first entry's index."""
    before = Block.objects.filter(height=block.height - 1).values_list("tree_size", flat=True)
    return before.first() or 0


def block_entries(block: Block, *, first_index: int) -> QuerySet[Entry]:
    return Entry.objects.filter(index__gte=first_index, index__lt=block.tree_size).order_by("index")


def entries() -> QuerySet[Entry]:
    return Entry.objects.all()


def block_sealing(index: int) -> Block | None:
    """The block whose checkpoint first covers entry `index`, if it is sealed yet."""
    return Block.objects.filter(tree_size__gt=index).order_by("height").first()


def latest_verification() -> VerificationRun | None:
    return VerificationRun.objects.order_by("-finished_at").first()


def entries_range(*, start: int, end: int) -> QuerySet[Entry]:
    """Entries [start, end), at most MAX_ENTRIES_PER_PAGE of them."""
    if start < 0 or end < start:
        raise DomainError("Ask for 0 <= start <= end.", field="start")
    end = min(end, start + MAX_ENTRIES_PER_PAGE)
    return Entry.objects.filter(index__gte=start, index__lt=end).order_by("index")


@dataclass(frozen=True)
class Proof:
    hashes: list[bytes]
    root: bytes
    leaf: bytes | None
    nodes_read: int


def _check_size(tree_size: int, field: str) -> None:
    size = log_size()
    if tree_size < 1 or tree_size > size:
        raise DomainError(
            f"The log has {size} entries; ask for a size from 1 to {size}.", field=field
        )


def inclusion_proof(*, index: int, tree_size: int) -> Proof:
    """RFC 9162 §2.1.3 inclusion proof of entry `index` in the tree of `tree_size` entries."""
    _check_size(tree_size, "tree_size")
    if not 0 <= index < tree_size:
        raise DomainError(f"index must be from 0 to {tree_size - 1}.", field="index")
    plan = merkle.inclusion_plan(index, tree_size)
    root_nodes = list(merkle.subtree_nodes(0, tree_size))
    wanted = {*merkle.plan_nodes(plan), *root_nodes, merkle.Node(0, index)}
    found = read_nodes(list(wanted))
    get = lambda level, i: found[(level, i)]  # noqa: E731 - the accessor merkle expects
    return Proof(
        hashes=merkle.build_proof(plan, get),
        root=merkle.fold([found[(n.level, n.index)] for n in root_nodes]),
        leaf=found[(0, index)],
        nodes_read=len(wanted),
    )


def consistency_proof(*, first: int, second: int) -> Proof:
    """RFC 9162 §2.1.4 consistency proof between tree sizes `first` and `second`."""
    _check_size(second, "second")
    if not 1 <= first <= second:
        raise DomainError(f"first must be from 1 to {second}.", field="first")
    plan = merkle.consistency_plan(first, second)
    root_nodes = list(merkle.subtree_nodes(0, second))
    wanted = {*merkle.plan_nodes(plan), *root_nodes}
    found = read_nodes(list(wanted))
    return Proof(
        hashes=merkle.build_proof(plan, lambda level, i: found[(level, i)]),
        root=merkle.fold([found[(n.level, n.index)] for n in root_nodes]),
        leaf=None,
        nodes_read=len(wanted),
    )


def checkpoint_with_cosignatures(block: Block) -> str:
    """The block's signed checkpoint with every witness cosignature appended as a signature."""
    note = parse_note(block.checkpoint.encode())
    lines = Cosignature.objects.filter(block=block).values_list("signature_line", flat=True)
    extra = [NoteSignature.parse_line(line) for line in lines]
    return note.with_signatures(extra).to_bytes().decode()


def witnesses() -> QuerySet[Witness]:
    return Witness.objects.select_related("institution").order_by("institution__name", "name")


def dataset_history(dataset_id: str) -> QuerySet[Entry]:
    return Entry.objects.filter(dataset=dataset_id).order_by("index")


@dataclass(frozen=True)
class AuditSummary:
    entries: int
    blocks: int
    verification: str


def audit_summary() -> AuditSummary:
    run = VerificationRun.objects.order_by("-finished_at").first()
    if run is None:
        verdict = "The ledger has not been verified yet"
    elif run.ok:
        verdict = f"Last verification passed ({run.finished_at:%d %b %Y %H:%M} UTC)"
    else:
        verdict = f"Last verification FAILED: {run.first_problem}"
    return AuditSummary(entries=log_size(), blocks=Block.objects.count(), verification=verdict)


@dataclass(frozen=True)
class OpenedField:
    """One commitment of an entry with its opening, checked against the entry's bytes."""

    field: str
    value: str
    salt: str  # hex
    commitment: str  # hex, as the entry holds it when `check` is "matches"
    check: str  # "matches", "pending" (not in the log yet) or "mismatch"


@dataclass(frozen=True)
class OpenedEntry:
    scope: str
    kind: str
    recorded_at: datetime
    entry_index: int | None  # None until the event is appended
    fields: list[OpenedField]


def openings(scopes: list[str]) -> list[OpenedEntry]:
    """Every opening kept under `scopes`, grouped by entry in log order, each field checked
    against the commitment its entry actually holds (two queries however many there are).

    Callers decide who may see a scope: these are the values the log does not disclose.
    """
    rows = list(Opening.objects.filter(scope__in=scopes).order_by("event_id", "field"))
    if not rows:
        return []
    entries = {
        e.event_id: e
        for e in Entry.objects.filter(event_id__in={r.event_id for r in rows}).only(
            "index", "event_id", "data", "recorded_at"
        )
    }
    grouped: dict[int, list[Opening]] = {}
    for row in rows:
        grouped.setdefault(row.event_id, []).append(row)
    result = []
    for event_id, group in grouped.items():
        entry = entries.get(event_id)
        held = json.loads(bytes(entry.data)).get("commitments", {}) if entry else {}
        fields = []
        for row in group:
            salt = bytes(row.salt)
            if entry is None:
                check = "pending"
            else:
                check = "matches" if opens(held.get(row.field, ""), salt, row.value) else "mismatch"
            fields.append(
                OpenedField(
                    field=row.field,
                    value=row.value,
                    salt=salt.hex(),
                    commitment=commitment(salt, row.value).hex(),
                    check=check,
                )
            )
        result.append(
            OpenedEntry(
                scope=group[0].scope,
                kind=group[0].kind,
                recorded_at=entry.recorded_at if entry else group[0].created_at,
                entry_index=entry.index if entry else None,
                fields=fields,
            )
        )
    return result


# --- C2SP tlog-tiles -----------------------------------------------------------------------


def published_size() -> int:
    """The tree size of the latest signed checkpoint: tiles are served up to it, no further."""
    size = Block.objects.order_by("-height").values_list("tree_size", flat=True).first()
    return size or 0


def tile_bytes(ref: tiles.TileRef, tree_size: int) -> bytes | None:
    """A hash tile or entry bundle as the spec defines its bytes, or None if a tree of
    `tree_size` does not (yet) hold `ref.width` of its hashes. One range read either way."""
    if tiles.available_width(ref.level, ref.index, tree_size) < ref.width:
        return None
    first = ref.first()
    if ref.level is None:
        data = Entry.objects.filter(index__gte=first, index__lt=first + ref.width).order_by("index")
        return tiles.bundle([bytes(d) for d in data.values_list("data", flat=True)])
    low = TreeNode.key_of(ref.tree_level, first)
    hashes = TreeNode.objects.filter(key__gte=low, key__lt=low + ref.width).order_by("key")
    found = [bytes(h) for h in hashes.values_list("hash", flat=True)]
    if len(found) != ref.width:
        raise LookupError(f"the tree store lacks hashes of {ref.path}")
    return b"".join(found)


# --- C2SP tlog-policy: the log's key, its witnesses by institution, and the quorum ----------


@dataclass(frozen=True)
class QuorumState:
    """The policy's quorum (`witness_policy`) against the latest checkpoint's cosignatures."""

    configured: int  # LEDGER_WITNESS_QUORUM
    needed: int  # what the policy asks: min(configured, institutions with witnesses); 0 none
    institutions: list[str]  # slugs of the institutions with active witnesses
    cosigned_by: list[str]  # of those, the ones that cosigned the latest checkpoint
    met: bool


def quorum_state(block: Block | None) -> QuorumState:
    """Whether the latest checkpoint carries the cosignatures the policy asks for."""
    institutions = sorted(
        set(Witness.objects.filter(active=True).values_list("institution__slug", flat=True))
    )
    configured = max(settings.LEDGER_WITNESS_QUORUM, 0)
    needed = min(configured, len(institutions))
    cosigned: list[str] = []
    if block is not None:
        cosigned = sorted(
            set(
                Cosignature.objects.filter(block=block, witness__active=True).values_list(
                    "witness__institution__slug", flat=True
                )
            )
        )
    return QuorumState(
        configured=configured,
        needed=needed,
        institutions=institutions,
        cosigned_by=cosigned,
        met=len(cosigned) >= needed,
    )


def witness_policy(log_vkey: str, log_url: str) -> str:
    """The policy file (https://c2sp.org/tlog-policy): a checkpoint is valid when the log
    signed it and witnesses of `LEDGER_WITNESS_QUORUM` different institutions cosigned it."""
    active = list(
        Witness.objects.filter(active=True)
        .select_related("institution")
        .order_by("institution__slug", "pk")
    )
    lines = [
        "# The BIZi portal's ledger: its key, the witnesses its member institutions run, and",
        "# the quorum of institutions whose witnesses must cosign a checkpoint.",
        f"log {log_vkey} {log_url}".rstrip(),
    ]
    groups: dict[str, list[str]] = {}
    for w in active:
        name = f"{w.institution.slug}-{w.pk}"
        lines.append(f"witness {name} {w.vkey} {w.url}")
        groups.setdefault(w.institution.slug, []).append(name)
    quorum = settings.LEDGER_WITNESS_QUORUM
    if quorum <= 0 or not groups:
        lines.append("quorum none")
        return "\n".join(lines) + "\n"
    for slug, names in groups.items():
        lines.append(f"group {slug} any {' '.join(names)}")
    # SPEC: 1 <= k <= n. With fewer institutions than the quorum, every one must cosign
    # (and the ledger page says the quorum cannot be met until more register).
    k = min(quorum, len(groups))
    lines.append(f"group institutions {k} {' '.join(groups)}")
    lines.append("quorum institutions")
    return "\n".join(lines) + "\n"


# --- C2SP tlog-proof receipts --------------------------------------------------------------


def proof_receipt(event_id: int) -> str | None:
    """A self-contained proof that event `event_id` is in the log (https://c2sp.org/tlog-proof):
    the entry's exact bytes (base64, as the "extra" data from which the leaf hash is
    recomputed), its index, the inclusion proof and the latest checkpoint with its witnesses'
    cosignatures. None until the entry is in a sealed block. Kept, it is checked years later
    with the log's key (and the policy's witnesses) alone."""
    entry = Entry.objects.filter(event_id=event_id).only("index", "data").first()
    block = latest_block()
    if entry is None or block is None or block.tree_size <= entry.index:
        return None
    proof = inclusion_proof(index=entry.index, tree_size=block.tree_size)
    head = [
        "c2sp.org/tlog-proof@v1",
        f"extra {base64.b64encode(bytes(entry.data)).decode()}",
        f"index {entry.index}",
        *(base64.b64encode(h).decode() for h in proof.hashes),
    ]
    return "\n".join(head) + "\n\n" + checkpoint_with_cosignatures(block)


def institutions_registering_witnesses(*, may_register: Callable[[Any], bool]) -> QuerySet[Any]:
    """The institutions for which `may_register(institution)` holds (the view passes the
    person's permission check).

    The institution model is read from the witness's own foreign key: the ledger does not
    import the consortium app that sits above it."""
    institution: Any = Witness._meta.get_field("institution").related_model
    allowed = [i.pk for i in institution.objects.all() if may_register(i)]
    return institution.objects.filter(pk__in=allowed).order_by("name")


# --- Figures for the ledger dashboard (issue 15) -------------------------------------------
#
# The dashboards read the ledger only through these: typed rows, one query each. `since` and
# `until` are the half-open range [since, until) of a dashboard's dates (either side open
# when None).


@dataclass(frozen=True)
class LogTip:
    """The log's size and its last leaf's hash (b"" while it is empty)."""

    size: int
    last_leaf: bytes


def log_tip() -> LogTip:
    """One query: the last entry's index and leaf hash."""
    last = Entry.objects.order_by("-index").values_list("index", "leaf_hash").first()
    return LogTip(0, b"") if last is None else LogTip(last[0] + 1, bytes(last[1]))


def leaf_hash_at(index: int) -> bytes | None:
    """The leaf hash of entry `index`, or None when the log has no such entry; one query."""
    leaf = Entry.objects.filter(index=index).values_list("leaf_hash", flat=True).first()
    return None if leaf is None else bytes(leaf)


@dataclass(frozen=True)
class EntriesOfDayAndKind:
    day: date  # appended, UTC
    kind: str
    entries: int


def entries_per_day_and_kind(*, start: int, end: int) -> list[EntriesOfDayAndKind]:
    """Entries [start, end) counted per (day appended, kind), in no order: one GROUP BY over
    a primary-key range, so a caller that keeps the counts reads only the new tail."""
    rows = (
        Entry.objects.filter(index__gte=start, index__lt=end)
        .annotate(day=TruncDate("appended_at"))
        .values("day", "kind")
        .annotate(n=Count("index"))
        .order_by()
    )
    return [EntriesOfDayAndKind(r["day"], r["kind"], r["n"]) for r in rows]


@dataclass(frozen=True)
class BlocksOfDay:
    day: date  # sealed, UTC
    blocks: int
    tree_size: int  # at the day's last block


def blocks_per_day(*, since: datetime | None, until: datetime | None) -> list[BlocksOfDay]:
    """Blocks sealed per day in the range and the tree size at the day's end, oldest first:
    one query."""
    rows = (
        Block.objects.filter(in_range("sealed_at", since, until))
        .annotate(day=TruncDate("sealed_at"))
        .values("day")
        .annotate(blocks=Count("height"), tree_size=Max("tree_size"))
        .order_by("day")
    )
    return [BlocksOfDay(r["day"], r["blocks"], r["tree_size"]) for r in rows]


@dataclass(frozen=True)
class SealedBlock:
    """A block as the dashboard shows it: where the tree stood and the checkpoint signed."""

    height: int
    tree_size: int
    sealed_at: datetime
    checkpoint: str


def latest_sealed_block() -> SealedBlock | None:
    block = latest_block()
    if block is None:
        return None
    return SealedBlock(block.height, block.tree_size, block.sealed_at, block.checkpoint)


@dataclass(frozen=True)
class WitnessCosigning:
    """A witness, whether it cosigned a given block, and its record."""

    name: str
    institution: str
    active: bool
    cosigned_latest: bool
    cosigned_at: datetime | None
    cosignatures: int
    last_cosigned_size: int
    last_status: str
    status_label: str
    last_reason: str


def witnesses_cosigning(*, block_height: int | None) -> list[WitnessCosigning]:
    """Every witness with its cosignature of block `block_height` (none when None) and how
    many it gave in all, by institution and name: one query."""
    # No block yet: a height no block has (heights start at 0), so no cosignature matches.
    height = -1 if block_height is None else block_height
    of_block = Cosignature.objects.filter(witness=OuterRef("pk"), block_id=height)
    rows = (
        Witness.objects.annotate(
            cosigned_at=Subquery(of_block.values("received_at")[:1]),
            cosignature_count=Count("cosignatures"),
        )
        .select_related("institution")
        .order_by("institution__name", "name")
    )
    sealed = block_height is not None
    return [
        WitnessCosigning(
            name=w.name,
            institution=w.institution.name,
            active=w.active,
            cosigned_latest=w.cosigned_at is not None if sealed else False,
            cosigned_at=w.cosigned_at if sealed else None,
            cosignatures=w.cosignature_count,
            last_cosigned_size=w.last_cosigned_size,
            last_status=w.last_status,
            status_label=w.get_last_status_display() if w.last_status else "",
            last_reason=w.last_reason,
        )
        for w in rows
    ]


@dataclass(frozen=True)
class VerificationOutcome:
    """What the last `ledger_verify` found."""

    ok: bool
    finished_at: datetime
    entries_checked: int
    blocks_checked: int
    first_problem: str
    triggered_by: str


def latest_verification_outcome() -> VerificationOutcome | None:
    run = latest_verification()
    if run is None:
        return None
    return VerificationOutcome(
        ok=run.ok,
        finished_at=run.finished_at,
        entries_checked=run.entries_checked,
        blocks_checked=run.blocks_checked,
        first_problem=run.first_problem,
        triggered_by=run.triggered_by,
    )

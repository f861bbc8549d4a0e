"""Keeping stored objects whole: repair, node draining, the scrub and the orphan sweep.

Problems are found three ways: a read that meets a bad shard (`services.object_open`), the
scrub, which reads every shard on every node, and a node check that fails (the node is marked
down and everything on it counts as lost). They are recorded as shard statuses first; the
functions here act on those statuses, so each is idempotent and safe to run concurrently with
reads, puts and itself.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from storage.engine import ShardInfo, ShardProblem, StripeInfo, fetch_shards, rebuild_stripe
from storage.models import Shard, StorageEvent, StorageNode, StoredObject, Stripe
from storage.nodes import NodeBackend, NodeError, parse_shard_key, shard_key
from storage.services import (
    StorageError,
    backend_for,
    event_record,
    node_check,
    node_reachable,
    node_set_status,
    readable_backends,
    shard_problems_record,
    storage_executor,
)

log = logging.getLogger(__name__)

__all__ = [
    "RepairOutcome",
    "ScrubReport",
    "node_drain",
    "nodes_draining",
    "object_repair",
    "repair_pending",
    "scrub",
    "sweep_orphans",
]


@dataclass
class RepairOutcome:
    repaired: int = 0
    cleared: int = 0  # shards marked bad that turned out fine (a node back from an outage)
    unrecoverable: list[int] = field(default_factory=list)  # stripe indices
    no_target: list[int] = field(default_factory=list)  # stripes with no free healthy node


def _shard_counts() -> Counter[int]:
    return Counter(
        dict(Shard.objects.values("node_id").annotate(n=Count("id")).values_list("node_id", "n"))
    )


def object_repair(*, object_id: uuid.UUID | str) -> RepairOutcome:
    """Rebuild every bad shard of an object onto a healthy node. Idempotent.

    A shard is bad when marked missing or corrupt, or when its node is down. Every shard of an
    affected stripe is re-read and checked; a shard marked bad that reads back good is simply
    marked good again. Lost shards are rebuilt from any k good ones (decode, re-encode: no key
    needed, ciphertext only), checked against their recorded SHA-256, written to their own node
    if it is up, otherwise to the least-loaded up node holding no other shard of the stripe,
    and only then does the row point there. A concurrent repair of the same shard is detected
    by a conditional update; the loser removes its copy.
    """
    outcome = RepairOutcome()
    obj = StoredObject.objects.filter(pk=object_id).first()
    if obj is None:
        return outcome  # deleted meanwhile: nothing to repair
    nodes = {n.pk: n for n in StorageNode.objects.all()}
    down = {pk for pk, n in nodes.items() if n.status == StorageNode.Status.DOWN}
    stripe_ids = set(
        Shard.objects.filter(stripe__object=obj)
        .filter(~Q(status=Shard.Status.OK) | Q(node_id__in=down))
        .values_list("stripe_id", flat=True)
    )
    if not stripe_ids:
        return outcome
    backends = {pk: backend_for(n) for pk, n in nodes.items() if pk not in down}
    targets = [
        n
        for n in nodes.values()
        if n.status == StorageNode.Status.UP and not node_reachable(n, backends[n.pk])
    ]
    load = _shard_counts()
    for stripe in Stripe.objects.filter(pk__in=stripe_ids).order_by("index"):
        _repair_stripe(
            obj, stripe, down=down, backends=backends, targets=targets, load=load, outcome=outcome
        )
    return outcome


def _repair_stripe(
    obj: StoredObject,
    stripe: Stripe,
    *,
    down: set[int],
    backends: dict[int, NodeBackend],
    targets: list[StorageNode],
    load: Counter[int],
    outcome: RepairOutcome,
) -> None:
    rows = {s.index: s for s in Shard.objects.filter(stripe=stripe)}
    info = _stripe_info(obj, stripe, rows.values(), down)
    # Read them all: repair is rare, and this finds every other bad shard of the stripe too.
    got, problems = fetch_shards(info, k=obj.k, backends=backends, want=obj.k + obj.m)
    # Found and fixed right here: recorded for the history, no repair queued.
    shard_problems_record(obj.pk, problems, queue_repair=False)
    now = timezone.now()
    for index in got:
        row = rows[index]
        if row.status != Shard.Status.OK:
            Shard.objects.filter(pk=row.pk, status=row.status).update(
                status=Shard.Status.OK, checked_at=now
            )
            outcome.cleared += 1
    lost = sorted(set(rows) - set(got))
    if not lost:
        return
    if len(got) < obj.k:
        outcome.unrecoverable.append(stripe.index)
        last = StorageEvent.objects.filter(object_id=obj.pk, stripe=stripe.index).first()
        if last is None or last.kind != StorageEvent.Kind.STRIPE_UNRECOVERABLE:
            event_record(
                StorageEvent.Kind.STRIPE_UNRECOVERABLE,
                object_id=obj.pk,
                stripe=stripe.index,
                detail=f"{len(got)} good shards of the {obj.k} needed; lost: {lost}",
            )
        return
    rebuilt = rebuild_stripe(info, got, k=obj.k, m=obj.m)
    used = {rows[i].node_id for i in got}
    for index in lost:
        row = rows[index]
        data = rebuilt[index]
        if hashlib.sha256(data).digest() != bytes(row.sha256):
            raise StorageError(
                f"Shard {index} of stripe {stripe.index} of stored object {obj.pk} rebuilt to "
                "bytes that do not match its recorded SHA-256; the object's rows are damaged."
            )
        target = _choose_target(row.node_id, used, targets, load)
        if target is None:
            outcome.no_target.append(stripe.index)
            log.warning(
                "no healthy node free for shard %s of stripe %s of %s", index, stripe.index, obj.pk
            )
            continue
        key = shard_key(obj.pk, stripe.index, index)
        try:
            backends[target.pk].put(key, data)
            backends[target.pk].sync([key])
        except NodeError as exc:
            log.warning("repair write to %s failed: %s", target.name, exc)
            outcome.no_target.append(stripe.index)
            continue
        old = row.node_id
        changed = Shard.objects.filter(pk=row.pk, node_id=old).update(
            node_id=target.pk, status=Shard.Status.OK, checked_at=timezone.now()
        )
        if not changed:
            # Someone else repaired it first; keep their copy, drop ours unless it is theirs.
            if (
                Shard.objects.filter(pk=row.pk).values_list("node_id", flat=True).first()
                != target.pk
            ):
                _delete_quietly(backends, target.pk, key)
            continue
        used.add(target.pk)
        load[target.pk] += 1
        load[old] -= 1
        outcome.repaired += 1
        event_record(
            StorageEvent.Kind.SHARD_REPAIRED,
            object_id=obj.pk,
            node_id=target.pk,
            stripe=stripe.index,
            shard=index,
            detail=f"rebuilt from shards {sorted(got)} onto {target.name}"
            + (f" (was on node {old})" if old != target.pk else ""),
        )
        if old != target.pk and old in backends:
            _delete_quietly(backends, old, key)


def _delete_quietly(backends: dict[int, NodeBackend], node_id: int, key: str) -> None:
    try:
        backends[node_id].delete(key)
    except NodeError as exc:
        log.info("could not delete %s from node %s: %s", key, node_id, exc)


def _choose_target(
    current: int, used: set[int], targets: list[StorageNode], load: Counter[int]
) -> StorageNode | None:
    """The shard's own node if it is up and answering, else the least-loaded free up node."""
    free = [n for n in targets if n.pk not in used]
    for node in free:
        if node.pk == current:
            return node
    if not free:
        return None
    return min(free, key=lambda n: (load[n.pk], n.pk))


def repair_pending() -> int:
    """Repair every object that has a bad shard or a shard on a down node; shards rebuilt."""
    down = StorageNode.objects.filter(status=StorageNode.Status.DOWN)
    ids = (
        Shard.objects.filter(~Q(status=Shard.Status.OK) | Q(node__in=down))
        .values_list("stripe__object_id", flat=True)
        .distinct()
    )
    return sum(object_repair(object_id=object_id).repaired for object_id in list(ids))


def node_drain(*, node: StorageNode) -> int:
    """Move every shard off a node (marking it draining first); returns shards moved.

    Each shard is copied as it is when its copy on the node checks out, or rebuilt from the
    stripe's other shards when it does not, to the least-loaded up node holding no other shard
    of its stripe; the row moves only after the copy is durable, then the old copy is deleted.
    Safe to run again: shards already moved are not on the node any more.
    """
    if node.status != StorageNode.Status.DRAINING:
        node_set_status(node=node, status=StorageNode.Status.DRAINING, reason="drain requested")
    nodes = {n.pk: n for n in StorageNode.objects.all()}
    backends = {
        pk: backend_for(n) for pk, n in nodes.items() if n.status != StorageNode.Status.DOWN
    }
    targets = [
        n
        for n in nodes.values()
        if n.status == StorageNode.Status.UP and not node_reachable(n, backends[n.pk])
    ]
    load = _shard_counts()
    moved = 0
    for shard in (
        Shard.objects.filter(node=node).select_related("stripe", "stripe__object").iterator()
    ):
        stripe, obj = shard.stripe, shard.stripe.object
        key = shard_key(obj.pk, stripe.index, shard.index)
        siblings = dict(
            Shard.objects.filter(stripe=stripe).exclude(pk=shard.pk).values_list("index", "node_id")
        )
        data: bytes | None = None
        try:
            candidate = backends[node.pk].get(key)
            if len(candidate) == shard.length and hashlib.sha256(candidate).digest() == bytes(
                shard.sha256
            ):
                data = candidate
        except NodeError:
            pass
        if data is None:
            down = {pk for pk, n in nodes.items() if n.status == StorageNode.Status.DOWN}
            info = _stripe_info(obj, stripe, Shard.objects.filter(stripe=stripe), down)
            got, problems = fetch_shards(info, k=obj.k, backends=backends)
            shard_problems_record(obj.pk, problems, queue_repair=False)
            if len(got) < obj.k:
                log.warning("cannot move shard %s of %s: stripe unreadable", shard.pk, obj.pk)
                continue
            data = rebuild_stripe(info, got, k=obj.k, m=obj.m)[shard.index]
        target = _choose_target(-1, set(siblings.values()) | {node.pk}, targets, load)
        if target is None:
            raise StorageError(
                f"No up node is free to take shard {shard.index} of stripe {stripe.index} of "
                f"stored object {obj.pk}; add a node before draining “{node.name}”."
            )
        backends[target.pk].put(key, data)
        backends[target.pk].sync([key])
        changed = Shard.objects.filter(pk=shard.pk, node=node).update(
            node=target, status=Shard.Status.OK, checked_at=timezone.now()
        )
        if changed:
            moved += 1
            load[target.pk] += 1
            _delete_quietly(backends, node.pk, key)
    if not Shard.objects.filter(node=node).exists():
        event_record(StorageEvent.Kind.NODE_DRAINED, node=node, detail=f"{moved} shards moved off")
    return moved


def nodes_draining() -> list[int]:
    """Nodes marked draining that still hold shards: what beat's `drain_pending` drains again
    (a drain message lost, or a drain stopped by a node without room)."""
    return list(
        StorageNode.objects.filter(status=StorageNode.Status.DRAINING, shards__isnull=False)
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _stripe_info(
    obj: StoredObject, stripe: Stripe, rows: Iterable[Shard], down: set[int]
) -> StripeInfo:
    return StripeInfo(
        index=stripe.index,
        length=stripe.length,
        shards=[
            ShardInfo(
                index=s.index,
                node_id=s.node_id,
                key=shard_key(obj.pk, stripe.index, s.index),
                sha256=bytes(s.sha256),
                length=s.length,
                usable=s.status == Shard.Status.OK and s.node_id not in down,
            )
            for s in sorted(rows, key=lambda s: s.index)
        ],
    )


# --- Scrub -----------------------------------------------------------------------------------


@dataclass
class ScrubReport:
    objects: int = 0
    shards_checked: int = 0
    problems: int = 0
    repaired: int = 0
    nodes_down: list[str] = field(default_factory=list)
    unrecoverable: list[str] = field(default_factory=list)  # object ids
    orphans_removed: int = 0

    def summary(self) -> str:
        text = (
            f"{self.objects} objects, {self.shards_checked} shards checked, "
            f"{self.problems} problems found, {self.repaired} shards rebuilt, "
            f"{self.orphans_removed} orphan shards removed"
        )
        if self.nodes_down:
            text += f"; nodes marked down: {', '.join(self.nodes_down)}"
        if self.unrecoverable:
            text += f"; UNRECOVERABLE objects: {', '.join(self.unrecoverable)}"
        return text


def _verify_one(backend: NodeBackend, key: str, sha256: bytes, length: int) -> str:
    """'' if the shard reads back with its length and hash, else 'missing:…' / 'corrupt:…'."""
    try:
        data = backend.get(key)
    except NodeError as exc:  # missing, or the node stopped answering since it was checked
        return f"missing:{exc}"
    if len(data) != length or hashlib.sha256(data).digest() != sha256:
        return "corrupt:its bytes do not match the SHA-256 recorded at write time"
    return ""


def scrub(
    *, repair: bool = True, progress: Callable[[int, int], None] | None = None
) -> ScrubReport:
    """Check every node and every shard; record what is wrong, repair it, sweep orphans.

    Nodes that do not answer are marked down (their shards are then rebuilt elsewhere). Every
    shard on the other nodes is read and checked against its recorded length and SHA-256.
    `progress(done, total)` is called after each object.
    """
    report = ScrubReport()
    for node in StorageNode.objects.exclude(status=StorageNode.Status.DOWN):
        if not node_check(node=node):
            report.nodes_down.append(node.name)
    backends = readable_backends()
    object_ids = list(
        StoredObject.objects.order_by("created_at", "pk").values_list("pk", flat=True)
    )
    pool = storage_executor()
    for done, object_id in enumerate(object_ids, start=1):
        rows = list(
            Shard.objects.filter(stripe__object_id=object_id).values_list(
                "id", "stripe__index", "index", "node_id", "sha256", "length", "status"
            )
        )
        checks = [
            (
                row,
                pool.submit(
                    _verify_one,
                    backends[row[3]],
                    shard_key(object_id, row[1], row[2]),
                    bytes(row[4]),
                    row[5],
                ),
            )
            for row in rows
            if row[3] in backends
        ]
        problems, good = [], []
        for row, future in checks:
            verdict = future.result()
            if verdict:
                kind, _, detail = verdict.partition(":")
                problems.append(ShardProblem(row[1], row[2], row[3], kind, detail))
            else:
                good.append(row[0])
        report.shards_checked += len(checks)
        report.problems += shard_problems_record(object_id, problems, queue_repair=False)
        Shard.objects.filter(pk__in=good).update(checked_at=timezone.now())
        needs_repair = problems or any(
            row[6] != Shard.Status.OK or row[3] not in backends for row in rows
        )
        if repair and needs_repair:
            try:
                outcome = object_repair(object_id=object_id)
            except StorageError as exc:  # damaged rows: report it and scrub the rest
                log.error("repair of stored object %s failed: %s", object_id, exc)
                outcome = RepairOutcome(unrecoverable=[-1])
            report.repaired += outcome.repaired
            if outcome.unrecoverable:
                report.unrecoverable.append(str(object_id))
        report.objects += 1
        if progress is not None:
            progress(done, len(object_ids))
    report.orphans_removed = sweep_orphans(backends=backends)
    event_record(StorageEvent.Kind.SCRUB_RUN, detail=report.summary())
    return report


def sweep_orphans(
    *, backends: dict[int, NodeBackend] | None = None, grace_seconds: float | None = None
) -> int:
    """Delete shard files that no row points at and that are older than the grace period.

    They come from puts that died before their rows were written, repairs that lost a race, or
    deletes while a node was away. The grace period keeps puts in progress safe.
    """
    backends = readable_backends() if backends is None else backends
    grace = settings.STORAGE_ORPHAN_GRACE_SECONDS if grace_seconds is None else grace_seconds
    cutoff = time.time() - grace
    removed = 0
    for node_id, backend in backends.items():
        known = {
            (object_id, stripe, index)
            for object_id, stripe, index in Shard.objects.filter(node_id=node_id).values_list(
                "stripe__object_id", "stripe__index", "index"
            )
        }
        try:
            for stored in backend.listing():
                parsed = parse_shard_key(stored.key)
                if parsed is None or parsed in known or stored.modified > cutoff:
                    continue
                backend.delete(stored.key)
                removed += 1
        except NodeError as exc:
            log.warning("orphan sweep of node %s stopped: %s", node_id, exc)
    if removed:
        event_record(StorageEvent.Kind.ORPHANS_REMOVED, detail=f"{removed} shard files")
    return removed

"""Storage's service API: the only way other apps store and read bytes.

    obj = object_put(upload, policy=None)      # -> StoredObject (id, cid, size, ...)
    with object_open(obj.id) as f:             # a binary stream of verified plaintext
        for piece in f: ...
    object_delete(obj.id)

Nothing else touches shards or nodes. Under the hood (`storage.engine`): the plaintext's
IPFS CID is computed while streaming, each stripe is encrypted with AES-256-GCM under a fresh
per-object data key (wrapped by the master key: `key_wrap`), cut into k data and m parity
shards by the Zigzag code, and each shard goes to a different node with its SHA-256 recorded
here. Reads need any k good shards per stripe. Problems found on the way are recorded as shard
statuses and StorageEvents, and repaired by a Celery task (`storage.tasks.repair_object`), the
periodic repair sweep, or the scrub.

Keys that other apps keep secret under the master key go in the same table of wrapped keys:

    wrapped = key_wrap(key, purpose="grant")   # -> WrappedKey; point your row at it
    key = key_unwrap(wrapped)                  # -> the 32 bytes again

The remaining functions are for operators (commands, tasks, the nodes API): registering,
checking and marking nodes, and re-wrapping every wrapped key (`keys_rewrap`). Repair,
draining and the scrub are in `storage.repair`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal import tasking
from portal.errors import DomainError
from storage import crypto
from storage.engine import (
    WRITE_THREADS,
    Manifest,
    ObjectReader,
    ShardInfo,
    ShardProblem,
    StripeInfo,
    StripeUnreadable,
    write_object,
)
from storage.errors import StorageError
from storage.keys import key_unwrap, key_wrap, keys_rewrap
from storage.models import (
    Shard,
    StorageEvent,
    StorageNode,
    StoredObject,
    Stripe,
    Table1Run,
    WrappedKey,
)
from storage.nodes import (
    LocalFolder,
    NodeBackend,
    NodeError,
    S3Bucket,
    shard_key,
)
from storage.table1 import Settings, check_settings, run_experiment
from storage.zigzag import ZigzagCode

log = logging.getLogger(__name__)

__all__ = [
    "ObjectUnreadableError",
    "Policy",
    "StorageError",
    "WrappedKey",
    "key_unwrap",
    "key_wrap",
    "keys_rewrap",
    "node_check",
    "node_register",
    "node_set_status",
    "nodes_ensure_defaults",
    "object_delete",
    "object_open",
    "object_put",
]


class ObjectUnreadableError(StorageError):
    """A stored object cannot be read back: a stripe lacks k good shards, or fails its tag."""

    def __init__(self, message: str, *, object_id: uuid.UUID, stripe: int | None = None):
        super().__init__(message, code="unreadable")
        self.object_id = object_id
        self.stripe = stripe


@dataclass(frozen=True)
class Policy:
    """How an object is coded: k data and m parity shards per stripe of `stripe_size` bytes.

    `stripe_size` None means STORAGE_STRIPE_BYTES, or if that is 0 the code's recommended size
    (k shards of 640 symbols of 4 KiB: 10 MiB for k=4), at which the shift padding stays
    within 1 % of the MDS ideal (storage.zigzag).
    """

    k: int = 4
    m: int = 2
    stripe_size: int | None = None

    def __post_init__(self) -> None:
        if not (self.k >= 1 and self.m >= 0 and self.k + self.m <= 64):
            raise StorageError(
                f"A storage policy needs 1 ≤ k, 0 ≤ m and k + m ≤ 64; got k={self.k}, m={self.m}."
            )
        if self.stripe_size is not None and not (crypto.TAG_SIZE < self.stripe_size <= 1 << 30):
            raise StorageError(f"A stripe must be 17 bytes to 1 GiB; got {self.stripe_size}.")

    @property
    def resolved_stripe_size(self) -> int:
        if self.stripe_size:
            return self.stripe_size
        return settings.STORAGE_STRIPE_BYTES or ZigzagCode(self.k, self.m).stripe_size


def default_policy() -> Policy:
    return Policy(k=settings.STORAGE_K, m=settings.STORAGE_M)


# --- Shared thread pool ----------------------------------------------------------------------
# One bounded pool per process for all puts, reads and scrubs, so concurrent requests cannot
# start more hashing and encryption threads than there are cores. A pool does not survive a
# fork (Celery and gunicorn workers fork), hence the pid check.
_pool: ThreadPoolExecutor | None = None
_pool_pid = 0
_pool_lock = threading.Lock()


def storage_executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            threads = settings.STORAGE_THREADS or max(2, os.cpu_count() or 2)
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="storage")
            _pool_pid = os.getpid()
        return _pool


# Shard writes get a pool of their own (see storage.engine.WRITE_THREADS).
_io_pool: ThreadPoolExecutor | None = None
_io_pool_pid = 0


def storage_io_executor() -> ThreadPoolExecutor:
    global _io_pool, _io_pool_pid
    with _pool_lock:
        if _io_pool is None or _io_pool_pid != os.getpid():
            _io_pool = ThreadPoolExecutor(WRITE_THREADS, thread_name_prefix="storage-io")
            _io_pool_pid = os.getpid()
        return _io_pool


# --- Nodes ---------------------------------------------------------------------------------


def backend_for(node: StorageNode) -> NodeBackend:
    if node.kind == StorageNode.Kind.S3:
        return S3Bucket(
            bucket=node.bucket,
            endpoint_url=node.endpoint_url,
            region=node.region,
            prefix=node.prefix,
        )
    return LocalFolder(node.path, fsync=settings.STORAGE_FSYNC)


def event_record(kind: str, **fields: Any) -> StorageEvent:
    return StorageEvent.objects.create(kind=kind, **fields)


@transaction.atomic
def node_register(
    *,
    name: str,
    kind: str = StorageNode.Kind.LOCAL,
    path: str = "",
    bucket: str = "",
    endpoint_url: str = "",
    region: str = "",
    prefix: str = "",
) -> StorageNode:
    """Add a node and create its folder (or bucket). Raises StorageError if it is unusable."""
    if StorageNode.objects.filter(name=name).exists():
        raise StorageError(f"There is already a storage node called “{name}”.", field="name")
    if kind == StorageNode.Kind.LOCAL and not path:
        raise StorageError("A local node needs a folder.", field="path")
    if kind == StorageNode.Kind.S3 and not bucket:
        raise StorageError("An S3 node needs a bucket.", field="bucket")
    node = StorageNode(
        name=name,
        kind=kind,
        path=str(Path(path).resolve()) if path else "",
        bucket=bucket,
        endpoint_url=endpoint_url,
        region=region,
        prefix=prefix,
    )
    node.full_clean()
    backend = backend_for(node)
    try:
        backend.create()  # type: ignore[attr-defined]
        backend.check()
    except (NodeError, OSError) as exc:
        raise StorageError(f"Storage node “{name}” cannot be used: {exc}") from exc
    node.last_checked_at = timezone.now()
    node.save()
    return node


def nodes_ensure_defaults() -> list[StorageNode]:
    """With no node registered yet, register STORAGE_LOCAL_NODES folders under STORAGE_NODE_ROOT.

    So the demo stores data with nothing configured. Does nothing once any node exists.
    """
    if StorageNode.objects.exists():
        return []
    root = Path(settings.STORAGE_NODE_ROOT)
    made = []
    for n in range(1, settings.STORAGE_LOCAL_NODES + 1):
        name = f"local-{n:02d}"
        if not StorageNode.objects.filter(name=name).exists():
            made.append(node_register(name=name, path=str(root / name)))
    return made


# Whether a node answered lately: a put checks every node, and a round trip to a bucket per put
# would cost more than the check is worth.
_CHECK_TTL_SECONDS = 10.0
_checked: dict[int, tuple[float, str]] = {}


def node_reachable(node: StorageNode, backend: NodeBackend, *, fresh: bool = False) -> str:
    """'' if the node answers, else why not (cached for a few seconds unless `fresh`)."""
    now = time.monotonic()
    cached = _checked.get(node.pk)
    if cached and not fresh and now - cached[0] < _CHECK_TTL_SECONDS:
        return cached[1]
    try:
        backend.check()
        error = ""
    except NodeError as exc:
        error = str(exc)
    _checked[node.pk] = (now, error)
    return error


def node_check(*, node: StorageNode) -> bool:
    """Check that a node answers; record the result, and mark it down if it does not.

    A node marked down stays down until an operator marks it up: its shards are rebuilt
    elsewhere meanwhile, so bringing it back is a decision, not an accident.
    """
    error = node_reachable(node, backend_for(node), fresh=True)
    StorageNode.objects.filter(pk=node.pk).update(last_checked_at=timezone.now(), last_error=error)
    node.last_error = error
    if error and node.status != StorageNode.Status.DOWN:
        node_set_status(node=node, status=StorageNode.Status.DOWN, reason=error)
    return not error


def node_set_status(*, node: StorageNode, status: str, reason: str = "") -> StorageNode:
    """Mark a node up, down or draining, and log it. Draining queues the drain task.

    Marking a node up checks it first: a node that does not answer cannot be put back.
    """
    if status not in StorageNode.Status.values:
        raise StorageError(f"“{status}” is not a node status.", field="status")
    if status == StorageNode.Status.UP:
        error = node_reachable(node, backend_for(node), fresh=True)
        if error:
            raise StorageError(f"Storage node “{node.name}” does not answer: {error}")
    if node.status == status:
        return node
    kind = {
        StorageNode.Status.UP: StorageEvent.Kind.NODE_UP,
        StorageNode.Status.DOWN: StorageEvent.Kind.NODE_DOWN,
        StorageNode.Status.DRAINING: StorageEvent.Kind.NODE_DRAINING,
    }[StorageNode.Status(status)]
    with transaction.atomic():
        StorageNode.objects.filter(pk=node.pk).update(
            status=status, status_changed_at=timezone.now()
        )
        node.status = status
        event_record(kind, node=node, detail=reason)
        if status == StorageNode.Status.DOWN:
            # Everything on it is lost until rebuilt elsewhere; the repair sweep finds these.
            Shard.objects.filter(node=node, status=Shard.Status.OK).update(
                status=Shard.Status.MISSING
            )
            tasking.send("storage.tasks.repair_pending")
        if status == StorageNode.Status.DRAINING:
            # Beat's `drain_pending` sends it again while the node still holds shards.
            tasking.send("storage.tasks.drain_node", node.pk)
    log.info("storage node %s is now %s%s", node.name, status, f": {reason}" if reason else "")
    return node


def _writable_nodes() -> list[StorageNode]:
    """Nodes that are up and answer, by id."""
    nodes_ensure_defaults()
    usable = []
    for node in StorageNode.objects.filter(status=StorageNode.Status.UP).order_by("id"):
        error = node_reachable(node, backend_for(node))
        if error:
            log.warning("storage node %s skipped: %s", node.name, error)
            continue
        usable.append(node)
    return usable


def readable_backends() -> dict[int, NodeBackend]:
    """Backends of every node not marked down (draining nodes still serve reads)."""
    return {
        node.pk: backend_for(node)
        for node in StorageNode.objects.exclude(status=StorageNode.Status.DOWN)
    }


# --- Objects -------------------------------------------------------------------------------


def object_put(stream: Any, *, policy: Policy | None = None) -> StoredObject:
    """Store the bytes of `stream` (a binary file-like) and return its StoredObject.

    Reads the stream once, in bounded memory. All or nothing: on any failure, shards already
    written are deleted, no row is left, and the exception propagates (StorageError when there
    are not enough nodes). The caller's transaction, if any, covers the rows; shards of a put
    whose transaction later rolls back are swept by the scrub as orphans.
    """
    policy = policy or default_policy()
    k, m, stripe_size = policy.k, policy.m, policy.resolved_stripe_size
    nodes = _writable_nodes()
    if len(nodes) < k + m:
        raise StorageError(
            f"Storing needs {k + m} storage nodes that are up ({k} data + {m} parity shards "
            f"per stripe, each on its own node); only {len(nodes)} are."
        )
    object_id = uuid.uuid4()
    data_key = crypto.new_data_key()
    backends = {node.pk: backend_for(node) for node in nodes}
    ids = [node.pk for node in nodes]
    start = object_id.int % len(ids)

    def placement(stripe: int) -> list[int]:
        # Each stripe starts one node further on, so an object's shards spread over all nodes;
        # the nodes after the first k+m are the spares for a node failing mid-put.
        at = (start + stripe) % len(ids)
        return ids[at:] + ids[:at]

    failed: list[tuple[int, str]] = []
    manifest = write_object(
        stream,
        object_id=object_id,
        k=k,
        m=m,
        stripe_size=stripe_size,
        data_key=data_key,
        backends=backends,
        placement=placement,
        executor=storage_executor(),
        io_executor=storage_io_executor(),
        on_node_failure=lambda node_id, message: failed.append((node_id, message)),
    )
    try:
        with transaction.atomic():
            obj = StoredObject.objects.create(
                id=object_id,
                cid=manifest.cid,
                size=manifest.size,
                stored_size=manifest.stored_size,
                k=k,
                m=m,
                stripe_size=stripe_size,
                wrapped_key=key_wrap(data_key, purpose="object", pk=object_id),
            )
            stripes = Stripe.objects.bulk_create(
                [Stripe(object=obj, index=s.index, length=s.length) for s in manifest.stripes]
            )
            Shard.objects.bulk_create(
                [
                    Shard(
                        stripe=row,
                        index=s.index,
                        node_id=s.node_id,
                        sha256=s.sha256,
                        length=s.length,
                    )
                    for row, info in zip(stripes, manifest.stripes, strict=True)
                    for s in info.shards
                ],
                batch_size=500,
            )
    except BaseException:
        for info in manifest.stripes:
            for s in info.shards:
                with contextlib.suppress(NodeError):  # else swept later as an orphan
                    backends[s.node_id].delete(s.key)
        raise
    if failed:
        # Shards that reached a node before it failed are probably lost with it: record them
        # as missing, so the repair rebuilds them on another node.
        dead = {node_id for node_id, _ in failed}
        for node_id, message in failed:
            _checked.pop(node_id, None)
            log.warning("storage node %s failed during a put: %s", node_id, message)
        shard_problems_record(
            obj.pk,
            [
                ShardProblem(info.index, s.index, s.node_id, "missing", "its node failed mid-put")
                for info in manifest.stripes
                for s in info.shards
                if s.node_id in dead
            ],
        )
    return obj


def _get_object(object_id: uuid.UUID | str) -> StoredObject:
    try:
        return StoredObject.objects.select_related("wrapped_key").get(pk=uuid.UUID(str(object_id)))
    except (ValueError, StoredObject.DoesNotExist):
        raise StorageError(f"There is no stored object {object_id}.", code="not_found") from None


def _manifest(obj: StoredObject, down: set[int]) -> Manifest:
    """The object's stripes and shards from the database, in order."""
    shards: dict[int, list[ShardInfo]] = defaultdict(list)
    rows = (
        Shard.objects.filter(stripe__object=obj)
        .order_by("stripe__index", "index")
        .values_list("stripe_id", "index", "node_id", "sha256", "length", "status")
    )
    stripe_index = dict(Stripe.objects.filter(object=obj).values_list("id", "index"))
    for stripe_id, index, node_id, sha256, length, status in rows:
        shards[stripe_id].append(
            ShardInfo(
                index=index,
                node_id=node_id,
                key=shard_key(obj.pk, stripe_index[stripe_id], index),
                sha256=bytes(sha256),
                length=length,
                usable=status == Shard.Status.OK and node_id not in down,
            )
        )
    stripes = [
        StripeInfo(index=index, length=length, shards=shards[stripe_id])
        for stripe_id, index, length in Stripe.objects.filter(object=obj)
        .order_by("index")
        .values_list("id", "index", "length")
    ]
    return Manifest(
        object_id=obj.pk,
        k=obj.k,
        m=obj.m,
        stripe_size=obj.stripe_size,
        size=obj.size,
        cid=obj.cid,
        stripes=stripes,
    )


def _data_key(obj: StoredObject) -> bytes:
    try:
        return key_unwrap(obj.wrapped_key)
    except StorageError as exc:
        raise StorageError(
            f"Stored object {obj.pk} cannot be opened: {exc.message}", code=exc.code
        ) from exc


class StoredObjectReader(ObjectReader):
    """An ObjectReader whose failures name the stored object (see `object_open`)."""

    def _next_chunk(self) -> bool:
        manifest = self.manifest
        try:
            return super()._next_chunk()
        except StripeUnreadable as exc:
            raise ObjectUnreadableError(
                f"Stored object {manifest.object_id} (CID {manifest.cid}) cannot be read: {exc}. "
                f"A ({manifest.k}, {manifest.m}) code rebuilds a stripe from any {manifest.k} "
                "of its shards.",
                object_id=manifest.object_id,
                stripe=exc.stripe.index,
            ) from exc
        except crypto.IntegrityError as exc:
            raise ObjectUnreadableError(
                f"Stored object {manifest.object_id} (CID {manifest.cid}) cannot be read: {exc}.",
                object_id=manifest.object_id,
            ) from exc


def object_open(object_id: uuid.UUID | str) -> StoredObjectReader:
    """A binary stream of the object's plaintext, verified stripe by stripe.

    Use as a context manager or close it. `read()`/`readinto()` work as on a file; iterating
    yields pieces of up to a stripe, for streaming responses. Reads succeed while any k shards
    of every stripe are good. Shards found missing or corrupt on the way are recorded
    (StorageEvent, shard status) and a repair is queued. Raises StorageError (code
    "not_found") for an unknown id; reading raises ObjectUnreadableError, naming the object,
    when a stripe cannot be rebuilt or fails its authentication tag.
    """
    obj = _get_object(object_id)
    backends = readable_backends()
    down = set(
        StorageNode.objects.filter(status=StorageNode.Status.DOWN).values_list("id", flat=True)
    )
    manifest = _manifest(obj, down)
    return StoredObjectReader(
        manifest,
        data_key=_data_key(obj),
        backends=backends,
        executor=storage_executor(),
        on_problems=lambda problems: shard_problems_record(obj.pk, problems),
        io_executor=storage_io_executor(),
    )


def object_delete(object_id: uuid.UUID | str) -> None:
    """Delete the object's rows now and its shards once the transaction commits.

    Shards on nodes that are down at that moment are left for the scrub's orphan sweep.
    """
    obj = _get_object(object_id)
    keys = [
        (node_id, shard_key(obj.pk, stripe, index))
        for node_id, stripe, index in Shard.objects.filter(stripe__object=obj).values_list(
            "node_id", "stripe__index", "index"
        )
    ]
    with transaction.atomic():
        obj.delete()
        # The data key goes with the object: shards left on a node that is down stay
        # ciphertext no key opens.
        WrappedKey.objects.filter(pk=obj.wrapped_key_id).delete()
    backends = readable_backends()

    def remove() -> None:
        for node_id, key in keys:
            backend = backends.get(node_id)
            if backend is None:
                continue
            try:
                backend.delete(key)
            except NodeError as exc:
                log.warning("could not delete %s from node %s: %s", key, node_id, exc)

    transaction.on_commit(remove, robust=True)


# --- Problems, repair ------------------------------------------------------------------------


def shard_problems_record(
    object_id: uuid.UUID, problems: list[ShardProblem], *, queue_repair: bool = True
) -> int:
    """Mark the shards bad and log an event for each newly found problem; queue a repair.

    The conditional update makes this idempotent: a problem already recorded (by another
    reader, or an earlier read) is neither logged nor queued again.
    """
    new = 0
    for p in problems:
        corrupt = p.kind == "corrupt"
        changed = Shard.objects.filter(
            stripe__object_id=object_id,
            stripe__index=p.stripe,
            index=p.shard,
            node_id=p.node_id,
            status=Shard.Status.OK,
        ).update(status=Shard.Status.CORRUPT if corrupt else Shard.Status.MISSING)
        if changed:
            new += 1
            event_record(
                StorageEvent.Kind.SHARD_CORRUPT if corrupt else StorageEvent.Kind.SHARD_MISSING,
                object_id=object_id,
                node_id=p.node_id,
                stripe=p.stripe,
                shard=p.shard,
                detail=p.detail,
            )
    if new and queue_repair:
        log.warning("stored object %s: %d bad shard(s) found; repair queued", object_id, new)
        tasking.send("storage.tasks.repair_object", str(object_id))
    return new


# --- The Table 1 experiment, started from the storage dashboard ------------------------------

TABLE1_STALE_SECONDS = 600  # a running run with no progress for this long lost its worker


def table1_request(
    *,
    by: str,
    nodes: int = 10,
    trials: int = 200,
    seed: int = 2021,
    objects: int = 8,
    max_object_bytes: int = 1 << 20,
) -> tuple[Table1Run, bool]:
    """Queue a Table 1 run for a worker; `(run, created)`.

    While one is queued or running (and its worker still reports progress) that one is returned
    and nothing new is queued, so a second click or a second moderator starts nothing more. The
    task is sent after commit with the run's id only.
    """
    wanted = Settings(
        nodes=nodes, trials=trials, seed=seed, objects=objects, max_object_bytes=max_object_bytes
    )
    try:
        check_settings(wanted)
    except ValueError as exc:
        raise DomainError(f"The experiment cannot run so: {exc}.") from exc
    with transaction.atomic():
        # One queue for the whole consortium: lock the unfinished runs while deciding.
        unfinished = list(
            Table1Run.objects.select_for_update()
            .filter(status__in=[Table1Run.Status.QUEUED, Table1Run.Status.RUNNING])
            .order_by("-created_at", "-id")
        )
        stale_before = timezone.now() - timedelta(seconds=TABLE1_STALE_SECONDS)
        for run in unfinished:
            alive = (run.heartbeat_at or run.created_at) >= stale_before
            if alive:
                return run, False
            run.status = Table1Run.Status.FAILED
            run.error = "The worker running it stopped reporting progress."
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
        run = Table1Run.objects.create(
            nodes=nodes,
            trials=trials,
            seed=seed,
            status=Table1Run.Status.QUEUED,
            requested_by=by,
            report={"requested": {"objects": objects, "max_object_bytes": max_object_bytes}},
        )
        # Beat's `table1_pending` sends it again if this message is lost.
        tasking.send("storage.tasks.run_table1", run.pk)
    return run, True


def table1_runs_unsent() -> list[int]:
    """Runs whose task may have been lost, oldest first: what beat's `table1_pending` sends.

    Queued longer than STORAGE_REPAIR_SECONDS (the broker was down when it was asked for, or
    the message died with a worker), or running with no progress for TABLE1_STALE_SECONDS (its
    worker died; `table1_execute` takes it over). A message sent twice runs it once.
    """
    now = timezone.now()
    queued_before = now - timedelta(seconds=settings.STORAGE_REPAIR_SECONDS)
    stale_before = now - timedelta(seconds=TABLE1_STALE_SECONDS)
    return list(
        Table1Run.objects.filter(
            Q(status=Table1Run.Status.QUEUED, created_at__lt=queued_before)
            | Q(status=Table1Run.Status.RUNNING, heartbeat_at__lt=stale_before)
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )


def table1_execute(*, run_id: int) -> Table1Run | None:
    """Run a queued Table 1 run; safe to call twice or from two workers at once.

    The run is claimed with a conditional UPDATE (queued, or running with no progress for
    TABLE1_STALE_SECONDS): whoever does not win the claim returns None and does nothing, and a
    finished run is never run again.
    """
    now = timezone.now()
    stale_before = now - timedelta(seconds=TABLE1_STALE_SECONDS)
    claimed = (
        Table1Run.objects.filter(pk=run_id)
        .filter(
            Q(status=Table1Run.Status.QUEUED)
            | Q(status=Table1Run.Status.RUNNING, heartbeat_at__lt=stale_before)
        )
        .update(status=Table1Run.Status.RUNNING, started_at=now, heartbeat_at=now, trials_done=0)
    )
    if not claimed:
        return None
    run = Table1Run.objects.get(pk=run_id)
    requested = (run.report or {}).get("requested", {})
    s = Settings(nodes=run.nodes, trials=run.trials, seed=run.seed, **requested)

    def progress(done: int, total: int) -> None:
        Table1Run.objects.filter(pk=run_id, status=Table1Run.Status.RUNNING).update(
            trials_done=done, heartbeat_at=timezone.now()
        )

    try:
        report = run_experiment(s, progress=progress)
    except Exception as exc:
        Table1Run.objects.filter(pk=run_id).update(
            status=Table1Run.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    Table1Run.objects.filter(pk=run_id).update(
        status=Table1Run.Status.DONE,
        report=report,
        trials_done=run.trials,
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    run.refresh_from_db()
    return run

"""Storage's tables. Only `storage.services` writes them; other apps hold a StoredObject's id,
or point at a WrappedKey row that storage made for them (`key_wrap`).

Shard bytes live on the nodes; these rows say where each shard is and what its SHA-256 must be.
A shard row's `status` is the source of truth for repair: a detected problem is recorded here
first, so a repair request lost with the broker is found again by the periodic repair and the
scrub.
"""

import uuid

from django.db import models
from django.utils import timezone

from storage.crypto import WRAPPED_SIZE


class StorageNode(models.Model):
    """A place that holds shards: a local folder or an S3-compatible bucket."""

    class Kind(models.TextChoices):
        LOCAL = "local", "local folder"
        S3 = "s3", "S3-compatible bucket"

    class Status(models.TextChoices):
        UP = "up", "up"  # receives new shards and serves reads
        DRAINING = "draining", "draining"  # serves reads; its shards are being moved off
        DOWN = "down", "down"  # never read or written; its shards count as lost

    name = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LOCAL)
    path = models.CharField(max_length=500, blank=True, help_text="Root folder (local nodes).")
    bucket = models.CharField(max_length=63, blank=True, help_text="Bucket name (S3 nodes).")
    endpoint_url = models.CharField(
        max_length=300, blank=True, help_text="S3 endpoint; empty for AWS itself."
    )
    region = models.CharField(max_length=40, blank=True)
    prefix = models.CharField(max_length=200, blank=True, help_text="Key prefix in the bucket.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UP)
    status_changed_at = models.DateTimeField(default=timezone.now)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(kind="local") & ~models.Q(path=""))
                | (models.Q(kind="s3") & ~models.Q(bucket="")),
                name="storage_node_has_location",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def location(self) -> str:
        if self.kind == self.Kind.LOCAL:
            return self.path
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"


class WrappedKey(models.Model):
    """A 256-bit key kept wrapped by a master key: an object's data key, a grant's pseudonym key.

    Made by `key_wrap`, opened by `key_unwrap`, moved to a new master key by `storage_rewrap`
    (`storage.keys`); the row that uses a key points at it one-to-one. The wrapping
    (`storage.crypto.wrap_key`) is bound to `id`, so bytes copied onto another row do not open
    there. `master_key_id` names the master key it is wrapped under (`storage.crypto.key_id`).
    It is empty only for grant keys wrapped before the id was recorded for them (access
    migration 0002): those are tried under every configured master key, as before, until
    `storage_rewrap` gives them one.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    purpose = models.SlugField(
        max_length=30, editable=False, help_text='What the key is for: "object", "grant".'
    )
    wrapped = models.BinaryField(
        max_length=WRAPPED_SIZE, editable=False, help_text="AES-256-GCM under the master key."
    )
    master_key_id = models.CharField(max_length=16, blank=True, db_index=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    rewrapped_at = models.DateTimeField(null=True, blank=True, editable=False)

    def __str__(self) -> str:
        return f"{self.purpose} key {self.id} under {self.master_key_id or 'an unrecorded key'}"


class StoredObject(models.Model):
    """One stored byte stream: its plaintext CID and size, its code and its wrapped data key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    cid = models.CharField(max_length=100, db_index=True, help_text="CIDv1 of the plaintext.")
    size = models.BigIntegerField(help_text="Plaintext bytes.")
    stored_size = models.BigIntegerField(help_text="Bytes over all shards on all nodes.")
    k = models.PositiveSmallIntegerField(help_text="Data shards per stripe.")
    m = models.PositiveSmallIntegerField(help_text="Parity shards per stripe.")
    stripe_size = models.PositiveIntegerField(help_text="Encoded bytes per full stripe.")
    wrapped_key = models.OneToOneField(
        WrappedKey,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        help_text="Its data key (the row's id is the object's).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.id} ({self.cid})"


class Stripe(models.Model):
    object = models.ForeignKey(StoredObject, on_delete=models.CASCADE, related_name="stripes")
    index = models.PositiveIntegerField()
    length = models.PositiveIntegerField(help_text="Encoded bytes: ciphertext and GCM tag.")

    class Meta:
        ordering = ["object", "index"]
        constraints = [
            models.UniqueConstraint(fields=["object", "index"], name="storage_stripe_unique")
        ]

    def __str__(self) -> str:
        return f"{self.object_id} stripe {self.index}"


class Shard(models.Model):
    class Status(models.TextChoices):
        OK = "ok", "ok"
        MISSING = "missing", "missing"
        CORRUPT = "corrupt", "corrupt"

    stripe = models.ForeignKey(Stripe, on_delete=models.CASCADE, related_name="shards")
    index = models.PositiveSmallIntegerField(help_text="0..k-1 data, k..k+m-1 parity.")
    node = models.ForeignKey(StorageNode, on_delete=models.PROTECT, related_name="shards")
    sha256 = models.BinaryField(max_length=32)
    length = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OK)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["stripe", "index"]
        constraints = [
            models.UniqueConstraint(fields=["stripe", "index"], name="storage_shard_unique"),
        ]
        indexes = [
            models.Index(fields=["status"], name="storage_shard_status"),
        ]

    def __str__(self) -> str:
        return f"{self.stripe} shard {self.index} on {self.node_id}"


class StorageEvent(models.Model):
    """What storage noticed and did: problems found, repairs, node changes, scrub runs."""

    class Kind(models.TextChoices):
        SHARD_MISSING = "shard.missing"
        SHARD_CORRUPT = "shard.corrupt"
        SHARD_REPAIRED = "shard.repaired"
        SHARD_MOVED = "shard.moved"
        STRIPE_UNRECOVERABLE = "stripe.unrecoverable"
        NODE_DOWN = "node.down"
        NODE_UP = "node.up"
        NODE_DRAINING = "node.draining"
        NODE_DRAINED = "node.drained"
        ORPHANS_REMOVED = "orphans.removed"
        SCRUB_RUN = "scrub.run"
        KEYS_REWRAPPED = "keys.rewrapped"

    kind = models.CharField(max_length=30, choices=Kind.choices, db_index=True)
    # Plain ids, not foreign keys: the history outlives deleted objects.
    object_id = models.UUIDField(null=True, blank=True, db_index=True)
    node = models.ForeignKey(
        StorageNode, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    stripe = models.IntegerField(null=True, blank=True)
    shard = models.IntegerField(null=True, blank=True)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.kind}"


class Table1Run(models.Model):
    """One run of the Table 1 experiment (`manage.py table1`), for the API and dashboard.

    The command writes a finished run. The storage dashboard queues one (`status` queued) and a
    worker runs it (`storage.tasks.run_table1`), counting trials in `trials_done` as it goes so
    that the page can show progress; only `done` runs are served as results.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    nodes = models.PositiveSmallIntegerField()
    trials = models.PositiveIntegerField()
    seed = models.BigIntegerField()
    report = models.JSONField(
        default=dict, help_text="Measured figures, definitions and the paper's, as served."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DONE)
    trials_done = models.PositiveIntegerField(default=0)
    requested_by = models.CharField(max_length=150, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last progress written by the worker running it."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Table 1 run {self.created_at:%Y-%m-%d %H:%M} ({self.nodes} nodes)"

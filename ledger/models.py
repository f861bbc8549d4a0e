"""The ledger's tables. Only `ledger.services` writes them.

`Entry`, `TreeNode`, `Block` and `Cosignature` are the ledger proper: the database refuses
UPDATE and DELETE on them (triggers installed by migration 0002, see `ledger/db_guard.py`).
`OutboxEvent` is the queue in front of the log: a row is written inside the transaction that
made a change and deleted inside the transaction that appends it to the log.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from ledger.witness_client import WitnessURLError, check_url


class EventKind(models.TextChoices):
    DATASET_PUBLISHED = "dataset.published"
    DATASET_VERSIONED = "dataset.versioned"
    DATASET_WITHDRAWN = "dataset.withdrawn"
    DATASET_SUSPENDED = "dataset.suspended"
    DATASET_RESTORED = "dataset.restored"
    DATASET_UPDATED = "dataset.updated"
    ACCESS_REQUESTED = "access.requested"
    ACCESS_CLEARED = "access.cleared"
    ACCESS_REJECTED = "access.rejected"
    ACCESS_APPROVED = "access.approved"
    ACCESS_DENIED = "access.denied"
    ACCESS_WITHDRAWN = "access.withdrawn"
    ACCESS_REVOKED = "access.revoked"
    ACCESS_EXPIRED = "access.expired"
    DATA_DOWNLOADED = "data.downloaded"
    SHARING_QUERIED = "sharing.queried"


class OutboxEvent(models.Model):
    """An event recorded but not yet in the log. Its id orders the log."""

    kind = models.CharField(max_length=40, choices=EventKind.choices)
    payload = models.BinaryField(help_text="The canonical JSON bytes the log entry will hold.")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"outbox {self.pk} {self.kind}"


class Opening(models.Model):
    """What one commitment in an entry hides: the value and its salt, kept off the log.

    `scope` names the object whose parties may read it ("request:42", "download:7",
    "dataset:…"); the portal decides who they are. Not append-only on purpose: erasing an
    opening (say, a purpose under a data-protection request) leaves the entry valid and its
    commitment unopenable, which is the point of committing instead of writing the text.
    """

    event_id = models.BigIntegerField(
        db_index=True, help_text="The outbox event whose entry holds the commitment."
    )
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    scope = models.CharField(max_length=80, db_index=True)
    field = models.CharField(max_length=40)
    value = models.TextField()
    salt = models.BinaryField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["event_id", "field"]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "field"], name="one_opening_per_field")
        ]

    def __str__(self) -> str:
        return f"opening of {self.field} in event {self.event_id}"


class Entry(models.Model):
    """One leaf of the log: `data` is the exact canonical JSON bytes that were hashed."""

    index = models.BigIntegerField(primary_key=True)
    event_id = models.BigIntegerField(
        unique=True, help_text="The outbox event appended here: an event is in the log once."
    )
    kind = models.CharField(max_length=40, choices=EventKind.choices, db_index=True)
    data = models.BinaryField()
    leaf_hash = models.BinaryField(max_length=32)
    dataset = models.CharField(max_length=64, blank=True, db_index=True)
    actor_institution = models.CharField(max_length=80, blank=True)
    actor_user = models.CharField(max_length=150, blank=True)
    recorded_at = models.DateTimeField()
    appended_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["index"]
        verbose_name_plural = "entries"

    def __str__(self) -> str:
        return f"#{self.index} {self.kind}"


class TreeNode(models.Model):
    """The hash of a perfect subtree (level, index), stored once when it completes.

    `key` packs (level, index) into one integer so that a proof's O(log n) nodes come back
    from a single primary-key lookup: key = level << 48 | index.
    """

    key = models.BigIntegerField(primary_key=True)
    hash = models.BinaryField(max_length=32)

    LEVEL_SHIFT = 48

    def __str__(self) -> str:
        return f"node {self.key >> self.LEVEL_SHIFT}/{self.key & ((1 << self.LEVEL_SHIFT) - 1)}"

    @classmethod
    def key_of(cls, level: int, index: int) -> int:
        return (level << cls.LEVEL_SHIFT) | index


class Block(models.Model):
    """A batch of entries sealed and signed: the log's state after the batch, chained by hash.

    `checkpoint` is the signed C2SP checkpoint note; its extension line carries the height and
    block hash, so the log's signature covers the chain as well as the tree.
    """

    height = models.BigIntegerField(primary_key=True)
    prev_hash = models.BinaryField(max_length=32)
    tree_size = models.BigIntegerField(unique=True)
    root_hash = models.BinaryField(max_length=32)
    sealed_at = models.DateTimeField()
    block_hash = models.BinaryField(max_length=32)
    checkpoint = models.TextField()

    class Meta:
        ordering = ["-height"]

    def __str__(self) -> str:
        return f"block {self.height} (size {self.tree_size})"


class WitnessStatus(models.TextChoices):
    """The outcome of the last attempt to have a witness cosign, in words a steward reads.

    Nothing the witness answered is kept beyond this, the HTTP status code of a refusal and a
    short reason the portal wrote itself (issue 14: a reply body is never stored or shown).
    """

    COSIGNED = "cosigned", "Cosigned the checkpoint"
    REFUSED = "refused", "Refused the checkpoint"
    UNREACHABLE = "unreachable", "Could not be reached"
    TIMED_OUT = "timed_out", "Did not answer in time"
    REDIRECTED = "redirected", "Answered with a redirect, which the portal does not follow"
    BAD_RESPONSE = "bad_response", "Did not answer as a tlog-witness does"
    BAD_SIGNATURE = "bad_signature", "Sent a cosignature that does not verify with its key"
    ADDRESS_REFUSED = "address_refused", "Its URL or address is not allowed; nothing was sent"


class Witness(models.Model):
    """A member institution's witness: where to send checkpoints, and the key it cosigns with."""

    institution = models.ForeignKey(
        "consortium.Institution", on_delete=models.PROTECT, related_name="witnesses"
    )
    name = models.CharField(max_length=200, help_text="The key name in its verifier key.")
    url = models.URLField(help_text="Base URL; checkpoints go to <url>/add-checkpoint.")
    vkey = models.CharField("verifier key", max_length=300, unique=True)
    active = models.BooleanField(default=True)
    last_cosigned_size = models.BigIntegerField(default=0)
    last_status = models.CharField(max_length=40, choices=WitnessStatus.choices, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The HTTP status of a refusal or redirect."
    )
    last_reason = models.CharField(
        max_length=160, blank=True, help_text="Written by the portal, never the witness's reply."
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="After a failure the witness is not asked before this."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["institution__name", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.institution})"

    def clean(self) -> None:
        # The URL's form and any IP literal in it; registration also resolves the name, and
        # every send resolves and checks it again (ledger.witness_client).
        if self.url:
            try:
                check_url(self.url, resolve_host=False)
            except WitnessURLError as exc:
                raise ValidationError({"url": str(exc)}) from exc


class Cosignature(models.Model):
    """A witness's cosignature of a block's checkpoint (a C2SP tlog-cosignature line)."""

    block = models.ForeignKey(Block, on_delete=models.PROTECT, related_name="cosignatures")
    witness = models.ForeignKey(Witness, on_delete=models.PROTECT, related_name="cosignatures")
    signature_line = models.TextField()
    timestamp = models.BigIntegerField(help_text="Seconds since the epoch, as cosigned.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["block", "witness"], name="one_cosignature_per_witness")
        ]

    def __str__(self) -> str:
        return f"cosignature of block {self.block_id} by witness {self.witness_id}"


class VerificationRun(models.Model):
    """The outcome of one `ledger_verify`, kept for the ledger dashboard."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    ok = models.BooleanField()
    entries_checked = models.BigIntegerField()
    blocks_checked = models.BigIntegerField()
    first_problem = models.TextField(blank=True)
    triggered_by = models.CharField(max_length=40, default="command")

    class Meta:
        ordering = ["-finished_at"]
        get_latest_by = "finished_at"

    def __str__(self) -> str:
        return f"verification at {self.finished_at:%Y-%m-%d %H:%M}: {'ok' if self.ok else 'FAILED'}"

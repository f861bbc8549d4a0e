"""Delta Sharing: each active grant is one share holding one table, the grant's view.

The table's files are Parquet files holding exactly that view (`ShareTable`, `ShareFile`);
recipients read them with a bearer token of their own (`SharingToken`); every query and
every file fetch is recorded (`ShareQuery`, `FileFetch`).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from access.models import Grant


class ShareTable(models.Model):
    """The Parquet files of one grant's view, made by a worker after the approval."""

    class State(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    grant = models.OneToOneField(Grant, on_delete=models.PROTECT, related_name="share_table")
    # Stable ids the protocol hands out (share, table and metaData ids stay the same for the
    # grant's whole life, as PROTOCOL.md asks).
    share_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    table_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    error = models.TextField(blank=True)
    # The Delta table version: 1 once the files exist (one grant is one fixed view).
    version = models.PositiveIntegerField(default=0)
    rows = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    schema = models.JSONField(default=list, help_text="[{name, type}] in the Delta types.")
    created_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"share table of grant #{self.grant_id} ({self.state})"


class ShareFile(models.Model):
    """One Parquet file of a share table, stored through `storage`."""

    table = models.ForeignKey(ShareTable, on_delete=models.CASCADE, related_name="files")
    index = models.PositiveIntegerField()
    file_id = models.CharField(max_length=64, unique=True, help_text="The protocol's file id.")
    object_id = models.UUIDField(help_text="The StoredObject holding the Parquet bytes.")
    size = models.BigIntegerField()
    rows = models.BigIntegerField()
    stats = models.JSONField(default=dict, help_text="numRecords, minValues, maxValues, nullCount")

    class Meta:
        ordering = ["table", "index"]
        constraints = [
            models.UniqueConstraint(fields=["table", "index"], name="sharing_file_index_unique")
        ]

    def __str__(self) -> str:
        return f"{self.file_id} ({self.size} bytes)"


class OAuthClient(models.Model):
    """OAuth 2.0 client credentials (RFC 6749 §4.4) for one person and grant: a profile of
    shareCredentialsVersion 2 holds them, and the client trades them for short-lived bearer
    tokens at the token endpoint. Only the secret's SHA-256 is kept."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sharing_clients"
    )
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="sharing_clients")
    client_id = models.CharField(max_length=40, unique=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"OAuth client {self.client_id} (grant #{self.grant_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class SharingToken(models.Model):
    """A recipient's bearer token for one grant's share. Only the SHA-256 of the secret is kept
    (as for `portal.ApiToken`: 256 bits of entropy, so an unsalted digest is as strong)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sharing_tokens"
    )
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="sharing_tokens")
    # Set for an access token an OAuth client obtained; revoking the client ends them too.
    client = models.ForeignKey(
        OAuthClient, null=True, blank=True, on_delete=models.PROTECT, related_name="tokens"
    )
    prefix = models.CharField(max_length=12)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… (grant #{self.grant_id})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class ShareQuery(models.Model):
    """One POST …/query: the files it offered and their bytes (also a `sharing.queried` event)."""

    token = models.ForeignKey(SharingToken, on_delete=models.PROTECT, related_name="queries")
    table = models.ForeignKey(ShareTable, on_delete=models.PROTECT, related_name="queries")
    created_at = models.DateTimeField(default=timezone.now)
    files = models.PositiveIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    ledger_event_id = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"query #{self.pk} of {self.table}"


class FileFetch(models.Model):
    """The fetches of one file offered by one query (one row however many Range requests)."""

    query = models.ForeignKey(ShareQuery, on_delete=models.PROTECT, related_name="fetches")
    file = models.ForeignKey(ShareFile, on_delete=models.PROTECT, related_name="fetches")
    first_at = models.DateTimeField(default=timezone.now)
    last_at = models.DateTimeField(default=timezone.now)
    requests = models.PositiveIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["query", "file"], name="sharing_fetch_unique")
        ]

    def __str__(self) -> str:
        return f"fetch of {self.file_id} by query #{self.query_id}"

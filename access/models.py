"""Access to data: requests, the grants they become, downloads, and the notifications sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from catalog.models import Dataset, DatasetVersion
from consortium.models import Institution
from storage.models import WrappedKey


class AccessRequest(models.Model):
    """Staff of one institution ask for a view of another's dataset (SPEC workflow 2)."""

    class State(models.TextChoices):
        PENDING_MODERATION = "pending_moderation", "Waiting for a moderator"
        PENDING_DECISION = "pending_decision", "Waiting for the owner's decision"
        REJECTED = "rejected", "Rejected by a moderator"
        DENIED = "denied", "Denied by the owner"
        APPROVED = "approved", "Approved"
        WITHDRAWN = "withdrawn", "Withdrawn"

    OPEN_STATES = (State.PENDING_MODERATION, State.PENDING_DECISION)

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="access_requests")
    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="+")
    institution = models.ForeignKey(
        Institution, on_delete=models.PROTECT, related_name="access_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    purpose = models.TextField(max_length=5000)
    columns = models.JSONField(help_text="Column names asked for, in file order.")
    filter_text = models.TextField("row filter as typed", blank=True, max_length=2000)
    filter = models.TextField("row filter, canonical", blank=True)
    duration_days = models.PositiveIntegerField()
    state = models.CharField(max_length=24, choices=State.choices, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    moderated_at = models.DateTimeField(null=True, blank=True)
    moderation_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "portal_accessrequest"
        ordering = ["-created_at"]
        constraints = [
            # The service refuses duplicates with a message; this catches two at once. The
            # values are OPEN_STATES': Meta cannot see the class body.
            models.UniqueConstraint(
                fields=["dataset", "institution"],
                condition=models.Q(state__in=["pending_moderation", "pending_decision"]),
                name="one_open_request_per_dataset_and_institution",
            )
        ]

    def __str__(self) -> str:
        return f"request #{self.pk} for {self.dataset_id} by {self.institution_id}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class GrantQuerySet(models.QuerySet["Grant"]):
    def in_state(self, state: str, *, now: datetime | None = None) -> GrantQuerySet:
        """Grants in `state` at `now` (default: this moment); the SQL twin of `Grant.state`.

        A grant stops being active at its `expires_at`, before the expiry task sets
        `expired_at`: both count as expired here, as on the grant itself."""
        now = now or timezone.now()
        if state == Grant.State.ACTIVE:
            return self.filter(revoked_at__isnull=True, expired_at__isnull=True, expires_at__gt=now)
        if state == Grant.State.EXPIRED:
            return self.filter(revoked_at__isnull=True).filter(
                models.Q(expired_at__isnull=False) | models.Q(expires_at__lte=now)
            )
        if state == Grant.State.REVOKED:
            return self.filter(revoked_at__isnull=False)
        raise ValueError(f"{state!r} is not a grant state")

    def active(self, *, now: datetime | None = None) -> GrantQuerySet:
        return self.in_state(Grant.State.ACTIVE, now=now)

    def expiry_due(self, *, now: datetime | None = None) -> GrantQuerySet:
        """Expired by the clock but not marked yet: what the expiry task marks."""
        return self.filter(
            revoked_at__isnull=True, expired_at__isnull=True, expires_at__lte=now or timezone.now()
        )


class Grant(models.Model):
    """The approved view of one dataset version for one institution, until expiry or revocation."""

    class State(models.TextChoices):
        """Derived from the dates, not stored: `state` on a grant, `in_state` on a queryset.

        A grant of a suspended or withdrawn listing stays active (it comes back with the
        listing); `refusal` says why it gives no data meanwhile."""

        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    class Mask(models.TextChoices):
        PSEUDONYMIZE = "pseudonymize", "Pseudonymize (keyed HMAC)"
        TRUNCATE = "truncate", "Truncate to N characters"
        YEAR_ONLY = "year_only", "Year only"

    request = models.OneToOneField(AccessRequest, on_delete=models.PROTECT, related_name="grant")
    version = models.ForeignKey(DatasetVersion, on_delete=models.PROTECT, related_name="grants")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="grants")
    columns = models.JSONField(help_text="Granted column names, in file order.")
    filter = models.TextField("row filter, canonical", blank=True)
    masks = models.JSONField(
        default=dict, help_text="{column: pseudonymize | truncate:N | year_only}"
    )
    # The pseudonymization key, wrapped by the storage master key (`storage.services.key_wrap`).
    # Never shown, never logged, never in the API.
    wrapped_key = models.OneToOneField(
        WrappedKey, on_delete=models.PROTECT, related_name="+", editable=False
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)
    ledger_event_id = models.BigIntegerField(
        null=True, blank=True, editable=False, help_text="The ledger event of its approval."
    )
    # Set once, by the expiry task's conditional UPDATE (… WHERE expired_at IS NULL).
    expired_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = GrantQuerySet.as_manager()

    class Meta:
        db_table = "portal_grant"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"grant #{self.pk} of {self.version} to {self.institution_id}"

    @property
    def state(self) -> Grant.State:
        """The state now; `GrantQuerySet.in_state` selects by the same rules."""
        if self.revoked_at is not None:
            return Grant.State.REVOKED
        if self.expired_at is not None or self.expires_at <= timezone.now():
            return Grant.State.EXPIRED
        return Grant.State.ACTIVE

    @property
    def refusal(self) -> str | None:
        """Why this grant gives no data now, or None while it is active."""
        state = self.state
        if state == Grant.State.REVOKED:
            return f"This grant was revoked on {self.revoked_at:%Y-%m-%d}: {self.revoke_reason}"
        if state == Grant.State.EXPIRED:
            return f"This grant expired on {self.expires_at:%Y-%m-%d %H:%M} UTC."
        return self.request.dataset.freeze_reason


class Download(models.Model):
    """One delivery of a grant's view, with the SHA-256 of exactly the bytes sent.

    The row is made when the stream starts (its id goes out in the `X-Download-Id` header) and
    completed, with the digest and the `data.downloaded` ledger event, when the last byte has
    been handed to the server. A stream the client abandons stays incomplete and is no event.
    """

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        NDJSON = "ndjson", "NDJSON"
        PARQUET = "parquet", "Parquet"

    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="downloads")
    # The listing and the grantee, copied from the grant (which never changes either) when the
    # row is made: the usage dashboard counts downloads per listing and per grantee, and
    # reaching them through the grant and its version made those GROUP BYs two joins of every
    # download (half their time at 10^5 downloads).
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+", editable=False)
    institution = models.ForeignKey(
        Institution,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        help_text="The grantee institution.",
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class CsvMode(models.TextChoices):
        SAFE = "safe", "Spreadsheet-safe (formula cells prefixed with ')"
        RAW = "raw", "Raw (the exact values)"

    format = models.CharField(max_length=10, choices=Format.choices)
    # What a CSV download delivered: spreadsheet-safe by default, the exact values with
    # ?csv=raw; empty for NDJSON and Parquet (never escaped).
    csv_mode = models.CharField(max_length=4, choices=CsvMode.choices, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.BigIntegerField(default=0)
    ledger_event_id = models.BigIntegerField(
        null=True, blank=True, editable=False, help_text="Its data.downloaded ledger event."
    )
    bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "portal_download"
        ordering = ["-started_at"]
        indexes = [
            # The usage dashboard counts finished downloads in a date range; without this a
            # range scans every download.
            models.Index(
                fields=["finished_at"],
                name="download_finished_at",
                condition=models.Q(finished_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"download #{self.pk} of grant {self.grant_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.dataset_id is None or self.institution_id is None:
            self.dataset_id = self.grant.version.dataset_id
            self.institution_id = self.grant.institution_id
        super().save(*args, **kwargs)

    @property
    def complete(self) -> bool:
        return self.finished_at is not None


class Notification(models.Model):
    """An in-app message; the navigation shows the count of unread ones."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "portal_notification"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_user_unread")]

    def __str__(self) -> str:
        return self.message

"""The catalog: dataset listings, their versions, and the uploads that make them."""

import uuid

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from catalog import limits
from consortium.models import Institution


class SearchDocument(models.Func):
    """`to_tsvector('simple', search_text)` on PostgreSQL, NULL on SQLite (which has no
    text-search vectors and matches substrings of `search_text` instead)."""

    template = "to_tsvector('simple'::regconfig, %(expressions)s)"
    output_field = SearchVectorField()

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra: object
    ) -> tuple[str, tuple[str | int, ...]]:
        return "NULL", ()


class Tag(models.Model):
    name = models.CharField(max_length=40, unique=True)

    class Meta:
        db_table = "portal_tag"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Dataset(models.Model):
    """A listing. Its data lives in versions; requests and grants point at a version."""

    class Category(models.TextChoices):
        LOANS = "loans", "Loans"
        CARDS = "cards", "Card transactions"
        INSURANCE = "insurance", "Insurance"
        CREDIT = "credit", "Credit scores"
        PAYMENTS = "payments", "Payments"
        MARKETS = "markets", "Markets"
        OTHER = "other", "Other"

    class Sensitivity(models.TextChoices):
        INTERNAL = "internal", "Internal"
        CONFIDENTIAL = "confidential", "Confidential"
        RESTRICTED = "restricted", "Restricted"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        WITHDRAWN = "withdrawn", "Withdrawn"
        SUSPENDED = "suspended", "Suspended"

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="datasets")
    title = models.CharField(max_length=limits.TITLE_CHARS)
    description = models.TextField(max_length=limits.DESCRIPTION_CHARS)
    category = models.CharField(max_length=20, choices=Category.choices)
    sensitivity = models.CharField(max_length=20, choices=Sensitivity.choices)
    terms = models.TextField("terms of use", max_length=limits.TERMS_CHARS)
    tags = models.ManyToManyField(Tag, blank=True, related_name="datasets")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    status_reason = models.TextField(blank=True)
    # The newest version, kept here so that lists need no subquery.
    current_version = models.ForeignKey(
        "DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Title, description, tags and column names in one column, for search on every engine.
    search_text = models.TextField(blank=True, editable=False)
    # The words of search_text, computed by the database whenever search_text changes (also
    # by bulk inserts), with a GIN index on PostgreSQL (migration 0007). Stored, not an
    # expression index: a search then reads the vector instead of re-parsing the text of every
    # row it checks (EXPLAIN: the page of a search walked the updated_at index calling
    # to_tsvector on ~2,000 rows, 40 ms; the count re-parsed every matching row on recheck).
    search_vector = models.GeneratedField(
        expression=SearchDocument(models.F("search_text")),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "portal_dataset"
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["status", "-updated_at"], name="dataset_status_updated"),
            models.Index(fields=["category", "status"], name="dataset_category_status"),
            models.Index(fields=["sensitivity", "status"], name="dataset_sensitivity_status"),
            models.Index(fields=["institution", "status"], name="dataset_institution_status"),
            # Covers the catalog's facet query (GROUP BY institution, category, sensitivity of
            # the active listings): an index-only scan in group order, no table reads and no
            # sort (selectors._count_facets).
            models.Index(
                fields=["status", "institution", "category", "sensitivity"],
                name="dataset_status_facets",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def freeze_reason(self) -> str | None:
        """Why access to this listing is frozen now (suspended or withdrawn: no request is
        cleared or approved, no grant gives data), or None while it is active."""
        if self.status == self.Status.ACTIVE:
            return None
        why = f": {self.status_reason}" if self.status_reason else ""
        if self.status == self.Status.SUSPENDED:
            return (
                f"The listing “{self.title}” is suspended by a moderator{why}. Its requests are"
                " not cleared or approved and its grants give no data until it is restored."
            )
        return (
            f"The listing “{self.title}” was withdrawn by its owner{why}. Its requests are not"
            " cleared or approved and its grants give no data."
        )


class DatasetVersion(models.Model):
    """One upload of a listing's data, stored through `storage/` (by its object id)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    object_id = models.UUIDField(help_text="The storage object holding the plaintext CSV.")
    arrow_object_id = models.UUIDField(
        null=True,
        blank=True,
        help_text="The storage object holding the same rows as an Arrow IPC stream, typed as "
        "downloads read them, so a download need not parse the CSV; made by a worker after "
        "the version (until then downloads parse the CSV).",
    )
    arrow_error = models.CharField(
        max_length=500, blank=True, help_text="Why the version has no Arrow copy, if it cannot."
    )
    cid = models.CharField("root CID", max_length=100)
    size_bytes = models.BigIntegerField()
    row_count = models.BigIntegerField()
    columns = models.JSONField(help_text="[{name, type, null_count}], in file order.")
    line_endings = models.CharField(max_length=8, blank=True)
    had_bom = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "portal_datasetversion"
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="one_version_number")
        ]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.number}"

    @property
    def column_names(self) -> list[str]:
        return [c["name"] for c in self.columns]


class DatasetUpload(models.Model):
    """A file on its way to becoming a listing or a new version: checked, then stored.

    Large files are checked and stored by a Celery task; the page polls this row's state.
    """

    class State(models.TextChoices):
        RECEIVED = "received", "Received"
        CHECKING = "checking", "Checking"
        STORING = "storing", "Storing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="+")
    dataset = models.ForeignKey(
        Dataset,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="uploads",
        help_text="Set for a new version of an existing listing, and once a new listing exists.",
    )
    metadata = models.JSONField(default=dict, help_text="Title, description… for a new listing.")
    file_name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.RECEIVED)
    progress_done = models.BigIntegerField(default=0)
    progress_total = models.BigIntegerField(default=0)
    problems = models.JSONField(default=list)
    more_problems = models.PositiveIntegerField(default=0)
    version = models.ForeignKey(
        DatasetVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "portal_datasetupload"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"upload {self.file_name} ({self.state})"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.READY, self.State.FAILED)

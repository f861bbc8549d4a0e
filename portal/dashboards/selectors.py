"""The dashboards' figures: each one aggregate query (GROUP BY in the database), never a loop
over rows in Python. Every selector takes the validated filter and returns plain dicts, so the
page, the chart and the CSV show the same numbers.

Usage figures about access requests, approvals, time to decision, the moderation and decision
queues and downloads belong to the access workflow (portal/access/) and join `usage_figures`
when it lands: see `ACCESS_FIGURES_PENDING`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, OuterRef, Q, Subquery, Sum
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone

from ledger.models import Block, Cosignature, Entry, VerificationRun, Witness
from portal.models import Dataset, Institution
from storage import selectors as storage_selectors
from storage.models import StorageEvent, StoredObject, Table1Run


@dataclass(frozen=True)
class Period:
    """A date range [start, end] in whole UTC days, either side open when None."""

    start: date | None = None
    end: date | None = None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """The half-open datetime range [from, until) the dates mean."""
        tz = timezone.get_current_timezone()
        since = datetime.combine(self.start, time.min, tzinfo=tz) if self.start else None
        until = (
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=tz)
            if self.end
            else None
        )
        return since, until

    def q(self, field_name: str) -> Q:
        since, until = self.bounds()
        q = Q()
        if since is not None:
            q &= Q(**{f"{field_name}__gte": since})
        if until is not None:
            q &= Q(**{f"{field_name}__lt": until})
        return q


# How long a page's aggregates are reused before they are computed again. The heavy figures
# (GROUP BYs over every listing, shard and storage event) cost 100-500 ms each on 10^5-10^6
# rows; a dashboard that is a minute old is as useful, and each page says when it was computed.
# Per filter, per process (the default cache is in memory). Table 1 progress is never cached.
CACHE_SECONDS = 60


def _cached(key: str, compute: Any) -> tuple[Any, datetime]:
    """`(compute(), when)`, or what the same call gave in the last CACHE_SECONDS."""
    if CACHE_SECONDS > 0:
        hit = cache.get(key)
        if hit is not None:
            return hit
    value = (compute(), timezone.now())
    if CACHE_SECONDS > 0:
        cache.set(key, value, CACHE_SECONDS)
    return value


# --- Usage --------------------------------------------------------------------------------

# The figures of issue 9 that need access requests, grants and downloads. They are added here
# (one selector each, in the same shape as `datasets_by`) when portal/access/ exists.
ACCESS_FIGURES_PENDING = (
    "Requests per week by state",
    "Approval rate",
    "Time to decision (median and p90)",
    "Age of the moderation and decision queues",
    "Downloads per dataset and per grantee institution, bytes delivered",
)

USAGE_TABLES = {
    "institution": ("Institution", "institution__name"),
    "category": ("Category", "category"),
    "sensitivity": ("Sensitivity", "sensitivity"),
}


@dataclass
class UsageFigures:
    computed_at: datetime
    total: int
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    weekly: list[dict[str, Any]] = field(default_factory=list)


def _datasets(period: Period, institution: Institution | None) -> Any:
    qs = Dataset.objects.filter(period.q("created_at"))
    if institution is not None:
        qs = qs.filter(institution=institution)
    return qs


def datasets_by(period: Period, institution: Institution | None, key: str) -> list[dict]:
    """Listings created in the period per institution, category or sensitivity: one query.

    Rows `{"key", "label", "datasets", "active"}`, most datasets first, then by label. Every
    listing counts, whatever its status now; `active` says how many are still listed.
    """
    _title, column = USAGE_TABLES[key]
    rows = (
        _datasets(period, institution)
        .values(column)
        .annotate(datasets=Count("id"), active=Count("id", filter=Q(status="active")))
        .order_by("-datasets", column)
    )
    labels = (
        dict(Dataset.Category.choices)
        if key == "category"
        else dict(Dataset.Sensitivity.choices)
        if key == "sensitivity"
        else {}
    )
    return [
        {
            "key": r[column],
            "label": labels.get(r[column], r[column]),
            "datasets": r["datasets"],
            "active": r["active"],
        }
        for r in rows
    ]


def datasets_per_week(period: Period, institution: Institution | None) -> list[dict]:
    """Listings created per week (weeks start on Monday), oldest first: one query."""
    rows = (
        _datasets(period, institution)
        .annotate(week=TruncWeek("created_at"))
        .values("week")
        .annotate(datasets=Count("id"))
        .order_by("week")
    )
    return [{"week": r["week"].date(), "datasets": r["datasets"]} for r in rows]


def usage_figures(*, period: Period, institution: Institution | None) -> UsageFigures:
    def compute() -> tuple[dict[str, list[dict]], list[dict]]:
        tables = {key: datasets_by(period, institution, key) for key in USAGE_TABLES}
        return tables, datasets_per_week(period, institution)

    key = f"dashboards:usage:{period.start}:{period.end}:{institution.pk if institution else ''}"
    (tables, weekly), computed_at = _cached(key, compute)
    return UsageFigures(
        computed_at=computed_at,
        total=sum(r["datasets"] for r in tables["category"]),
        tables=tables,
        weekly=weekly,
    )


# --- Storage ------------------------------------------------------------------------------


@dataclass
class StorageFigures:
    computed_at: datetime
    nodes: list[dict[str, Any]]
    totals: dict[str, Any]
    repairs: list[dict[str, Any]]
    last_scrub: StorageEvent | None
    table1: Table1Run | None
    table1_active: Table1Run | None


REPAIR_KINDS = {
    StorageEvent.Kind.SHARD_REPAIRED: "repaired",
    StorageEvent.Kind.SHARD_MOVED: "moved",
    StorageEvent.Kind.SHARD_MISSING: "found_missing",
    StorageEvent.Kind.SHARD_CORRUPT: "found_corrupt",
}


def storage_totals() -> dict[str, Any]:
    """Objects, plaintext bytes and bytes stored on the nodes (one query), with the overhead:
    stored / plaintext, e.g. 1.5 for 4 data + 2 parity shards (plus tags and padding)."""
    t = StoredObject.objects.aggregate(
        objects=Count("id"), plaintext=Sum("size"), stored=Sum("stored_size")
    )
    plaintext, stored = t["plaintext"] or 0, t["stored"] or 0
    return {
        "objects": t["objects"],
        "plaintext_bytes": plaintext,
        "stored_bytes": stored,
        "overhead": round(stored / plaintext, 3) if plaintext else None,
    }


def repairs_per_day(period: Period) -> list[dict[str, Any]]:
    """Shards found bad, repaired and moved per day, oldest first: one query."""
    rows = (
        StorageEvent.objects.filter(period.q("created_at"), kind__in=list(REPAIR_KINDS))
        .annotate(day=TruncDay("created_at"))
        .values("day")
        .annotate(**{name: Count("id", filter=Q(kind=kind)) for kind, name in REPAIR_KINDS.items()})
        .order_by("day")
    )
    return [{"day": r["day"].date(), **{n: r[n] for n in REPAIR_KINDS.values()}} for r in rows]


def storage_figures(*, period: Period) -> StorageFigures:
    def compute() -> tuple[list[dict], dict[str, Any], list[dict]]:
        return storage_selectors.nodes_with_health(), storage_totals(), repairs_per_day(period)

    (nodes, totals, repairs), computed_at = _cached(
        f"dashboards:storage:{period.start}:{period.end}", compute
    )
    return StorageFigures(
        computed_at=computed_at,
        nodes=nodes,
        totals=totals,
        repairs=repairs,
        last_scrub=StorageEvent.objects.filter(kind=StorageEvent.Kind.SCRUB_RUN)
        .order_by("-created_at", "-id")
        .first(),
        table1=storage_selectors.table1_latest(),
        table1_active=storage_selectors.table1_in_progress(),
    )


def table1_status(run: Table1Run) -> dict[str, Any]:
    """What the dashboard polls while a run goes on."""
    return {
        "id": run.pk,
        "status": run.status,
        "trials": run.trials,
        "trials_done": run.trials_done,
        "percent": round(100 * run.trials_done / run.trials) if run.trials else 100,
        "requested_by": run.requested_by,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
    }


# --- Ledger -------------------------------------------------------------------------------


@dataclass
class LedgerFigures:
    computed_at: datetime
    tree_size: int
    blocks_total: int
    blocks: list[dict[str, Any]]
    kinds: list[dict[str, Any]]
    latest_block: Block | None
    witnesses: list[dict[str, Any]]
    verification: VerificationRun | None
    counted_up_to: int


_KIND_COUNTS_KEY = "dashboards:ledger:kind-day-counts:v1"


def entry_counts_by_day_and_kind() -> tuple[dict[tuple[date, str], int], int]:
    """Entries per (day appended, kind), and the tree size they cover.

    The log is append-only, so what was counted up to size n never changes: the counts are kept
    in the cache with n, and each call counts only the entries appended since (one GROUP BY over
    a primary-key range). Cold, that is one pass over the whole log; warm, over the new tail.
    """
    empty: dict[str, Any] = {"size": 0, "last_leaf": b"", "counts": {}}
    cached = cache.get(_KIND_COUNTS_KEY) or empty
    last = Entry.objects.order_by("-index").values_list("index", "leaf_hash").first()
    size_now = 0 if last is None else last[0] + 1
    counted = cached["size"]
    # Counted from this very log? The leaf where the count stopped must still be there with the
    # same hash (another database, e.g. between tests, would not have it). Both queries run
    # every time, so the page's query count does not depend on the cache.
    leaf = Entry.objects.filter(index=counted - 1).values_list("leaf_hash", flat=True).first()
    if counted and (leaf is None or bytes(leaf) != cached["last_leaf"] or size_now < counted):
        cached, counted = empty, 0
    rows = list(
        Entry.objects.filter(index__gte=counted, index__lt=size_now)
        .annotate(day=TruncDay("appended_at"))
        .values("day", "kind")
        .annotate(n=Count("index"))
        .order_by()
    )
    if rows:
        counts = dict(cached["counts"])
        for r in rows:
            key = (r["day"].date(), r["kind"])
            counts[key] = counts.get(key, 0) + r["n"]
        assert last is not None
        cached = {"size": size_now, "last_leaf": bytes(last[1]), "counts": counts}
        cache.set(_KIND_COUNTS_KEY, cached, timeout=None)
    return cached["counts"], cached["size"]


def entries_per_kind(period: Period) -> tuple[list[dict[str, Any]], int]:
    """Entries per kind appended in the period, most first; and the tree size counted."""
    counts, size = entry_counts_by_day_and_kind()
    totals: dict[str, int] = defaultdict(int)
    for (day, kind), n in counts.items():  # days x kinds, not entries
        if (period.start is None or day >= period.start) and (
            period.end is None or day <= period.end
        ):
            totals[kind] += n
    rows = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"kind": k, "entries": n} for k, n in rows], size


def blocks_per_day(period: Period) -> list[dict[str, Any]]:
    """Blocks sealed per day and the tree size at the day's end, oldest first: one query."""
    rows = (
        Block.objects.filter(period.q("sealed_at"))
        .annotate(day=TruncDay("sealed_at"))
        .values("day")
        .annotate(blocks=Count("height"), tree_size=Max("tree_size"))
        .order_by("day")
    )
    return [
        {"day": r["day"].date(), "blocks": r["blocks"], "tree_size": r["tree_size"]} for r in rows
    ]


def witnesses_for(block: Block | None) -> list[dict[str, Any]]:
    """Every witness with its cosignature of `block` (if any) and how many it gave: one query."""
    latest = Cosignature.objects.filter(witness=OuterRef("pk"), block=block)
    rows = (
        Witness.objects.annotate(
            cosigned_at=Subquery(latest.values("received_at")[:1]),
            cosignature_count=Count("cosignatures"),
        )
        .select_related("institution")
        .order_by("institution__name", "name")
    )
    return [
        {
            "name": w.name,
            "institution": w.institution.name,
            "active": w.active,
            "cosigned_latest": w.cosigned_at is not None if block else False,
            "cosigned_at": w.cosigned_at if block else None,
            "cosignatures": w.cosignature_count,
            "last_cosigned_size": w.last_cosigned_size,
            "last_status": w.last_status,
            "last_error": w.last_error,
        }
        for w in rows
    ]


def ledger_figures(*, period: Period) -> LedgerFigures:
    block = Block.objects.order_by("-height").first()
    kinds, size = entries_per_kind(period)
    return LedgerFigures(
        computed_at=timezone.now(),
        tree_size=size,
        blocks_total=(block.height + 1) if block else 0,
        blocks=blocks_per_day(period),
        kinds=kinds,
        latest_block=block,
        witnesses=witnesses_for(block),
        verification=VerificationRun.objects.order_by("-finished_at").first(),
        counted_up_to=size,
    )


def home_sections(*, user: Any) -> list[Any]:
    """The home page's links to the dashboards, for managers and moderators; no queries."""
    from django.urls import reverse

    from portal.permissions import Perm, can
    from portal.selectors import HomeItem, HomeSection  # portal.selectors imports this module

    if not can(user, Perm.DASHBOARD_VIEW):
        return []
    return [
        HomeSection(
            "Dashboards",
            [
                HomeItem("Usage dashboard", None, reverse("dashboard-usage")),
                HomeItem("Storage dashboard", None, reverse("dashboard-storage")),
                HomeItem("Ledger dashboard", None, reverse("dashboard-ledger")),
            ],
        )
    ]

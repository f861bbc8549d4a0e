"""The dashboards' figures: each one aggregate query (GROUP BY in the database), never a loop
over rows in Python. Every selector takes the validated filter and returns plain dicts, so the
page, the chart and the CSV show the same numbers.

Where a page's figures come from (`_served`): the unfiltered view of each dashboard is read
from the snapshot the worker rebuilds every DASHBOARD_SNAPSHOT_SECONDS (`snapshots.py`,
`services.snapshots_rebuild`); a filtered view, or one whose snapshot is missing or stale, is
computed on demand and reused by this process for CACHE_SECONDS.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Count, F, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.fields import DateTimeField
from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse
from django.utils import timezone

from access.models import AccessRequest, Download
from catalog.models import Dataset
from consortium.home import HomeItem, HomeSection
from consortium.models import Institution
from dashboards import snapshots
from dashboards.stats import Seconds, WeekStart, spreads
from ledger.models import Block, Cosignature, Entry, VerificationRun, Witness
from portal.permissions import Perm, can
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

    @property
    def is_all_time(self) -> bool:
        return self.start is None and self.end is None


# How long a filtered page's aggregates are reused by this process before they are computed
# again. The heavy figures (GROUP BYs over every listing, request, shard and storage event)
# cost 100-500 ms each on 10^5-10^6 rows; a dashboard that is a minute old is as useful, and
# each page says when it was computed. Per filter, per process (the default cache is in
# memory); the unfiltered views come from the shared snapshot instead. Table 1 progress, the
# latest checkpoint and the last scrub are single-row lookups and always fresh.
CACHE_SECONDS = 60


def _cached(key: str, compute: Callable[[], Any]) -> tuple[Any, datetime]:
    """`(compute(), when)`, or what the same call gave in the last CACHE_SECONDS."""
    if CACHE_SECONDS > 0:
        hit = cache.get(key)
        if hit is not None:
            return hit
    value = (compute(), timezone.now())
    if CACHE_SECONDS > 0:
        cache.set(key, value, CACHE_SECONDS)
    return value


def _served(
    kind: str, period: Period, compute: Callable[[], Any], *, institution: Institution | None = None
) -> tuple[Any, datetime, bool]:
    """`(payload, computed_at, from_snapshot)` of one dashboard: the snapshot for the
    unfiltered view when it is fresh, otherwise computed here (and reused for CACHE_SECONDS)."""
    if period.is_all_time and institution is None:
        hit = snapshots.snapshot_read(kind)
        if hit is not None:
            return hit[0], hit[1], True
    key = f"dashboards:{kind}:{period.start}:{period.end}:{institution.pk if institution else ''}"
    payload, computed_at = _cached(key, compute)
    return payload, computed_at, False


# --- Usage --------------------------------------------------------------------------------

# The three tables of listings: key -> the title of its first column.
USAGE_TABLES = {"institution": "Institution", "category": "Category", "sensitivity": "Sensitivity"}


@dataclass
class UsageFigures:
    computed_at: datetime
    from_snapshot: bool
    total: int
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    weekly: list[dict[str, Any]] = field(default_factory=list)
    access: dict[str, Any] = field(default_factory=dict)


def _datasets(period: Period, institution: Institution | None) -> Any:
    qs = Dataset.objects.filter(period.q("created_at"))
    if institution is not None:
        qs = qs.filter(institution=institution)
    return qs


def datasets_tables(
    period: Period, institution: Institution | None, names: dict[int, str]
) -> dict[str, list[dict]]:
    """Listings created in the period per institution, per category and per sensitivity.

    One GROUP BY (institution, category, sensitivity), folded here into the three tables: at
    most institutions x 7 x 3 grouped rows, never one per listing, and one scan of the listings
    instead of three. Rows `{"key", "label", "datasets", "active"}`, most datasets first, then
    by label (an institution's name from `names`, a category's or sensitivity's value). Every
    listing counts, whatever its status now; `active` says how many are still listed.
    """
    groups = list(
        _datasets(period, institution)
        .values("institution_id", "category", "sensitivity")
        .annotate(datasets=Count("id"), active=Count("id", filter=Q(status="active")))
        .order_by()
    )
    labels = {
        "institution": {},
        "category": dict(Dataset.Category.choices),
        "sensitivity": dict(Dataset.Sensitivity.choices),
    }
    tables = {}
    for key in USAGE_TABLES:
        totals: dict[str, list[int]] = {}
        for g in groups:  # grouped rows, not listings
            value = names[g["institution_id"]] if key == "institution" else g[key]
            counts = totals.setdefault(value, [0, 0])
            counts[0] += g["datasets"]
            counts[1] += g["active"]
        tables[key] = [
            {
                "key": value,
                "label": labels[key].get(value, value),
                "datasets": datasets,
                "active": active,
            }
            for value, (datasets, active) in sorted(
                totals.items(), key=lambda kv: (-kv[1][0], kv[0])
            )
        ]
    return tables


def datasets_per_week(period: Period, institution: Institution | None) -> list[dict]:
    """Listings created per week (weeks start on Monday), oldest first: one query."""
    rows = (
        _datasets(period, institution)
        .annotate(week=WeekStart("created_at"))
        .values("week")
        .annotate(datasets=Count("id"))
        .order_by()  # sorted here, see _by_week
    )
    return _by_week({"week": r["week"], "datasets": r["datasets"]} for r in rows)


def _by_week(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Weekly rows oldest first, sorted here rather than by the database: PostgreSQL cannot
    estimate how few weeks a computed week column holds, so an ORDER BY on it made the planner
    sort every row before grouping (a third of the query) instead of sorting the few groups."""
    return sorted(rows, key=lambda r: r["week"])


# --- Usage: access requests, decisions, queues and downloads -------------------------------
#
# The institution filter means "requests by or for the institution": its staff's requests and
# the requests for its listings (and the downloads under either). The date range means: when
# the request was made (requests per week, outcomes), when the moderator or the owner decided
# (time to decision), when the download finished (downloads, bytes); the queues are as now.

State = AccessRequest.State
REQUEST_STATES = [
    (State.PENDING_MODERATION, "Waiting for a moderator"),
    (State.PENDING_DECISION, "Waiting for the owner"),
    (State.APPROVED, "Approved"),
    (State.DENIED, "Denied by the owner"),
    (State.REJECTED, "Rejected by a moderator"),
    (State.WITHDRAWN, "Withdrawn"),
]
DECIDED_STATES = (State.APPROVED, State.DENIED, State.REJECTED)
# Downloads per dataset shows the most downloaded ones only: a table of 10^4 listings is
# neither readable nor a chart.
TOP_DATASETS = 20


def _requests(institution: Institution | None) -> Any:
    qs = AccessRequest.objects.all()
    if institution is not None:
        # Its listings as a subquery (hashed once), not a join of every request to its listing:
        # half the time at 10^5 requests on PostgreSQL.
        qs = qs.filter(
            Q(institution=institution)
            | Q(dataset_id__in=Dataset.objects.filter(institution=institution).values("id"))
        )
    return qs


def requests_per_week_and_outcomes(
    period: Period, institution: Institution | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Requests made per week (Monday) by their state now, oldest first, and the period's
    outcomes: one GROUP BY (week, state), whose weeks x states rows also sum to the outcomes.

    Weekly rows are `{"week", "total", <state>: n for every state}`. The approval rate is
    approved ÷ (approved + denied + rejected), in percent with one decimal, over the requests
    decided so far (None before any is); open and withdrawn requests have no outcome yet or
    never will.
    """
    rows = (
        _requests(institution)
        .filter(period.q("created_at"))
        .annotate(week=WeekStart("created_at"))
        .values("week", "state")
        .annotate(n=Count("pk"))
        .order_by()  # sorted here, see _by_week
    )
    weeks: dict[date, dict[str, Any]] = {}
    counts = {str(s): 0 for s, _ in REQUEST_STATES}
    for r in rows:  # weeks x states, not requests
        week = r["week"]
        row = weeks.setdefault(
            week, {"week": week, "total": 0, **{s: 0 for s, _ in REQUEST_STATES}}
        )
        row[r["state"]] = r["n"]
        row["total"] += r["n"]
        counts[r["state"]] += r["n"]
    weekly = _by_week(weeks.values())
    decided = sum(counts[str(s)] for s in DECIDED_STATES)
    approved = counts[str(State.APPROVED)]
    outcomes = {
        "counts": counts,
        "total": sum(counts.values()),
        "decided": decided,
        "approval_rate": round(100 * approved / decided, 1) if decided else None,
    }
    return weekly, outcomes


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def decision_times_and_queues(
    period: Period, institution: Institution | None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Time to decision and the age of the waiting queues, in hours: one aggregate query on
    PostgreSQL (percentile_cont), a bounded handful on SQLite (`stats.spreads`).

    Time to decision runs from the request to the moderator's clearance or rejection, and to
    the owner's approval or denial, for decisions taken in the period. A queue's age is how
    long each waiting request has waited in it: since the request for the moderation queue,
    since its clearance (or the request, when it needed none) for the decision queue.
    """
    now = Value(timezone.now(), output_field=DateTimeField())
    found = spreads(
        _requests(institution),
        {
            "moderation": (
                Seconds(F("moderated_at"), F("created_at")),
                Q(moderated_at__isnull=False) & period.q("moderated_at"),
            ),
            "decision": (
                Seconds(F("decided_at"), F("created_at")),
                Q(decided_at__isnull=False) & period.q("decided_at"),
            ),
            "moderation_queue": (
                Seconds(now, F("created_at")),
                Q(state=State.PENDING_MODERATION),
            ),
            "decision_queue": (
                Seconds(now, Coalesce(F("moderated_at"), F("created_at"))),
                Q(state=State.PENDING_DECISION),
            ),
        },
    )
    times = [
        {"stage": stage, "label": label, "decisions": found[stage].count}
        | {k: _hours(getattr(found[stage], k)) for k in ("p50", "p90")}
        for stage, label in [
            ("moderation", "Moderator: cleared or rejected"),
            ("decision", "Owner: approved or denied"),
        ]
    ]
    queues = [
        {"queue": queue, "label": label, "waiting": found[queue].count}
        | {k: _hours(getattr(found[queue], k)) for k in ("p50", "p90", "max")}
        for queue, label in [
            ("moderation_queue", "Moderation queue"),
            ("decision_queue", "Decision queue"),
        ]
    ]
    return times, queues


def _downloads(period: Period, institution: Institution | None) -> Any:
    # Finished downloads only: an abandoned stream delivered an unknown part and is no event.
    # Each download names its listing and grantee itself, so no figure joins it to its grant.
    qs = Download.objects.filter(finished_at__isnull=False).filter(period.q("finished_at"))
    if institution is not None:
        qs = qs.filter(
            Q(institution=institution)
            | Q(dataset_id__in=Dataset.objects.filter(institution=institution).values("id"))
        )
    return qs


_DOWNLOAD_SUMS = {"downloads": Count("pk"), "rows": Sum("rows"), "bytes": Sum("bytes")}


def downloads_per_dataset(period: Period, institution: Institution | None) -> list[dict]:
    """The TOP_DATASETS most downloaded listings: downloads, rows and bytes.

    Two queries: the GROUP BY on the dataset's id alone (grouping by its title and owner too
    made PostgreSQL sort every download on disk), then the titles and owners of those few.
    """
    ds = "dataset_id"
    rows = list(
        _downloads(period, institution)
        .values(ds)
        .annotate(**_DOWNLOAD_SUMS)
        .order_by("-downloads", "-bytes", ds)[:TOP_DATASETS]
    )
    names = {
        d["id"]: d
        for d in Dataset.objects.filter(id__in=[r[ds] for r in rows]).values(
            "id", "title", "institution__name"
        )
    }
    return [
        {
            "dataset": r[ds],
            "title": names[r[ds]]["title"],
            "owner": names[r[ds]]["institution__name"],
            "downloads": r["downloads"],
            "rows": r["rows"] or 0,
            "bytes": r["bytes"] or 0,
        }
        for r in rows
    ]


def downloads_per_institution_and_week(
    period: Period, institution: Institution | None, names: dict[int, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Downloads, rows and bytes per grantee institution (most downloads first) and per week
    finished (Monday, oldest first): one GROUP BY (grantee, week), whose at most institutions
    x weeks rows are folded into both tables here (grantees named from `names`)."""
    groups = list(
        _downloads(period, institution)
        .annotate(week=WeekStart("finished_at"))
        .values("institution_id", "week")
        .annotate(**_DOWNLOAD_SUMS)
        .order_by()
    )
    per_institution: dict[str, dict[str, Any]] = {}
    per_week: dict[date, dict[str, Any]] = {}
    for g in groups:  # grantees x weeks, not downloads
        name = names[g["institution_id"]]
        for row in (
            per_institution.setdefault(
                name, {"institution": name, "downloads": 0, "rows": 0, "bytes": 0}
            ),
            per_week.setdefault(
                g["week"], {"week": g["week"], "downloads": 0, "rows": 0, "bytes": 0}
            ),
        ):
            row["downloads"] += g["downloads"]
            row["rows"] += g["rows"] or 0
            row["bytes"] += g["bytes"] or 0
    return (
        sorted(per_institution.values(), key=lambda r: (-r["downloads"], r["institution"])),
        _by_week(per_week.values()),
    )


def institution_names() -> dict[int, str]:
    """Every member institution's name by id: one query of a few dozen rows, which the grouped
    figures join in Python instead of joining every grouped row to its institution."""
    return dict(Institution.objects.values_list("id", "name"))


def access_figures(
    *, period: Period, institution: Institution | None, names: dict[int, str]
) -> dict[str, Any]:
    """Every access figure of the usage dashboard (five aggregate queries on PostgreSQL)."""
    weekly, outcomes = requests_per_week_and_outcomes(period, institution)
    times, queues = decision_times_and_queues(period, institution)
    per_institution, per_week = downloads_per_institution_and_week(period, institution, names)
    return {
        "weekly": weekly,
        "outcomes": outcomes,
        "decision_times": times,
        "queues": queues,
        "per_dataset": downloads_per_dataset(period, institution),
        "per_institution": per_institution,
        "per_week": per_week,
        "sharing": _sharing_per_week(period, institution),
        # Every grantee is in per_institution, so its sums are the totals.
        "downloads": sum(r["downloads"] for r in per_institution),
        "bytes": sum(r["bytes"] for r in per_institution),
    }


def _sharing_per_week(period: Period, institution: Institution | None) -> list[dict]:
    from sharing.selectors import usage_per_week

    return usage_per_week(period=period, institution=institution, week=WeekStart)


def usage_payload(period: Period, institution: Institution | None) -> dict[str, Any]:
    """Everything the usage page shows, computed now: what its snapshot holds."""
    names = institution_names()
    return {
        "tables": datasets_tables(period, institution, names),
        "weekly": datasets_per_week(period, institution),
        "access": access_figures(period=period, institution=institution, names=names),
    }


def usage_figures(*, period: Period, institution: Institution | None) -> UsageFigures:
    payload, computed_at, from_snapshot = _served(
        "usage", period, lambda: usage_payload(period, institution), institution=institution
    )
    return UsageFigures(
        computed_at=computed_at,
        from_snapshot=from_snapshot,
        total=sum(r["datasets"] for r in payload["tables"]["category"]),
        tables=payload["tables"],
        weekly=payload["weekly"],
        access=payload["access"],
    )


# --- Storage ------------------------------------------------------------------------------


@dataclass
class StorageFigures:
    computed_at: datetime
    from_snapshot: bool
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
        # A date, not date_trunc('day', …): PostgreSQL then groups in a hash table instead of
        # sorting every event on disk (about 25 % faster on 10^5 events).
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(**{name: Count("id", filter=Q(kind=kind)) for kind, name in REPAIR_KINDS.items()})
        .order_by("day")
    )
    return [{"day": r["day"], **{n: r[n] for n in REPAIR_KINDS.values()}} for r in rows]


def storage_payload(period: Period) -> dict[str, Any]:
    """The storage page's aggregates, computed now: what its snapshot holds."""
    return {
        "nodes": storage_selectors.nodes_with_health(),
        "totals": storage_totals(),
        "repairs": repairs_per_day(period),
    }


def storage_figures(*, period: Period) -> StorageFigures:
    # The date range narrows the repairs only. Nodes and totals are the same whatever the
    # range, and their GROUP BY over every shard is the page's dearest query (a full scan of
    # 6 x 10^5 rows, 150-300 ms): a ranged view takes them from the unfiltered snapshot (or
    # this process's copy of the unfiltered figures) and computes only its repairs.
    whole, computed_at, from_snapshot = _served(
        "storage", Period(), lambda: storage_payload(Period())
    )
    repairs = whole["repairs"]
    if not period.is_all_time:
        repairs, repairs_at = _cached(
            f"dashboards:storage-repairs:{period.start}:{period.end}",
            lambda: repairs_per_day(period),
        )
        computed_at = min(computed_at, repairs_at)  # the page is at least this fresh
    return StorageFigures(
        computed_at=computed_at,
        from_snapshot=from_snapshot,
        nodes=whole["nodes"],
        totals=whole["totals"],
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
    from_snapshot: bool
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
        .annotate(day=TruncDate("appended_at"))
        .values("day", "kind")
        .annotate(n=Count("index"))
        .order_by()
    )
    if rows:
        counts = dict(cached["counts"])
        for r in rows:
            key = (r["day"], r["kind"])
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
        .annotate(day=TruncDate("sealed_at"))
        .values("day")
        .annotate(blocks=Count("height"), tree_size=Max("tree_size"))
        .order_by("day")
    )
    return [{"day": r["day"], "blocks": r["blocks"], "tree_size": r["tree_size"]} for r in rows]


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
            "status_label": w.get_last_status_display() if w.last_status else "",
            "last_reason": w.last_reason,
        }
        for w in rows
    ]


def ledger_payload(period: Period) -> dict[str, Any]:
    """The ledger page's aggregates, computed now: what its snapshot holds."""
    kinds, size = entries_per_kind(period)
    return {"kinds": kinds, "counted_up_to": size, "blocks": blocks_per_day(period)}


def ledger_figures(*, period: Period) -> LedgerFigures:
    # The latest block, its witnesses and the last verification are a few indexed rows, read
    # live; the per-kind and per-day counts come from the snapshot or the cache.
    payload, computed_at, from_snapshot = _served("ledger", period, lambda: ledger_payload(period))
    block = Block.objects.order_by("-height").first()
    return LedgerFigures(
        computed_at=computed_at,
        from_snapshot=from_snapshot,
        tree_size=payload["counted_up_to"],
        blocks_total=(block.height + 1) if block else 0,
        blocks=payload["blocks"],
        kinds=payload["kinds"],
        latest_block=block,
        witnesses=witnesses_for(block),
        verification=VerificationRun.objects.order_by("-finished_at").first(),
        counted_up_to=payload["counted_up_to"],
    )


# --- Snapshots ------------------------------------------------------------------------------

# What the worker computes for each dashboard's unfiltered view (services.snapshots_rebuild).
SNAPSHOT_PAYLOADS: dict[str, Callable[[], dict[str, Any]]] = {
    "usage": lambda: usage_payload(Period(), None),
    "storage": lambda: storage_payload(Period()),
    "ledger": lambda: ledger_payload(Period()),
}


def home_sections(*, user: Any) -> list[HomeSection]:
    """The home page's links to the dashboards, for managers and moderators; no queries."""
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

"""The dashboards' figures, composed from the selectors of the apps that own the rows.

Every figure is an aggregate query (GROUP BY in the database, never a loop over rows in
Python) in the selectors of the app whose tables it reads: `catalog`, `access`, `storage`,
`ledger`, `consortium` and `sharing`. They return typed rows; this module folds them into the
dashboards' own rows (the dataclasses below) and reads no other app's tables itself
(tests/test_boundaries.py). The page, its chart and its CSV all show these rows
(`tables.py`).

Where a page's figures come from (`_served`): the unfiltered view of each dashboard is read
from the snapshot the worker rebuilds every DASHBOARD_SNAPSHOT_SECONDS (`snapshots.py`,
`services.snapshots_rebuild`); a filtered view, or one whose snapshot is missing, stale or of
another schema version, is computed on demand and reused by this process for CACHE_SECONDS.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar

from django.core.cache import cache
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from access import selectors as access_selectors
from catalog import selectors as catalog_selectors
from catalog.selectors import DatasetsOfWeek
from consortium import selectors as consortium_selectors
from consortium.home import HomeItem, HomeSection
from consortium.selectors import InstitutionChoice
from dashboards import snapshots
from dashboards.stats import Seconds, WeekStart, spreads
from ledger import selectors as ledger_selectors
from ledger.selectors import BlocksOfDay, SealedBlock, VerificationOutcome, WitnessCosigning
from portal.permissions import Perm, can
from portal.queries import in_range
from sharing import selectors as sharing_selectors
from storage import selectors as storage_selectors
from storage.selectors import NodeHealth, RepairsOfDay, Scrub, StoredTotals
from storage.table1 import METRICS, PAPER

P = TypeVar("P")


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
        return in_range(field_name, *self.bounds())

    @property
    def is_all_time(self) -> bool:
        return self.start is None and self.end is None


class InstitutionRef(Protocol):
    """The institution a usage view is narrowed to: an `InstitutionChoice` of the filter (or
    anything else with the institution's primary key)."""

    @property
    def pk(self) -> Any: ...


def _pk(institution: InstitutionRef | None) -> int | None:
    return None if institution is None else institution.pk


# How long a filtered page's aggregates are reused by this process before they are computed
# again. The heavy figures (GROUP BYs over every listing, request, shard and storage event)
# cost 100-500 ms each on 10^5-10^6 rows; a dashboard that is a minute old is as useful, and
# each page says when it was computed. Per filter, per process (the default cache is in
# memory); the unfiltered views come from the shared snapshot instead. Table 1 progress, the
# latest checkpoint and the last scrub are single-row lookups and always fresh.
CACHE_SECONDS = 60


def _cached(key: str, compute: Callable[[], P]) -> tuple[P, datetime]:
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
    kind: str,
    schema: type[P],
    period: Period,
    compute: Callable[[], P],
    *,
    institution: InstitutionRef | None = None,
) -> tuple[P, datetime, bool]:
    """`(payload, computed_at, from_snapshot)` of one dashboard: the snapshot for the
    unfiltered view when it is fresh and of this schema, otherwise computed here (and reused
    for CACHE_SECONDS)."""
    if period.is_all_time and institution is None:
        hit = snapshots.snapshot_read(kind, schema=schema)
        if hit is not None:
            return hit[0], hit[1], True
    key = (
        f"dashboards:v{snapshots.SCHEMA_VERSION}:{kind}:{period.start}:{period.end}"
        f":{_pk(institution) or ''}"
    )
    payload, computed_at = _cached(key, compute)
    return payload, computed_at, False


def institution_choices() -> list[InstitutionChoice]:
    """The institutions the usage page may be narrowed to, by name."""
    return consortium_selectors.institution_choices()


def _by_week(rows: Iterable[P], week: Callable[[P], date]) -> list[P]:
    """Weekly rows oldest first, sorted here rather than by the database: PostgreSQL cannot
    estimate how few weeks a computed week column holds, so an ORDER BY on it made the planner
    sort every row before grouping (a third of the query) instead of sorting the few groups."""
    return sorted(rows, key=week)


# --- Usage: listings ------------------------------------------------------------------------

# The three tables of listings: key -> the title of its first column.
USAGE_TABLES = {"institution": "Institution", "category": "Category", "sensitivity": "Sensitivity"}


@dataclass(frozen=True)
class DatasetCount:
    """Listings created in the range with one owner, category or sensitivity."""

    key: str  # the owner's name, or the category's or sensitivity's value
    label: str
    datasets: int
    active: int  # of them, still listed


def datasets_tables(
    period: Period, institution: InstitutionRef | None, names: dict[int, str]
) -> dict[str, list[DatasetCount]]:
    """Listings created in the period per institution, per category and per sensitivity.

    One GROUP BY (institution, category, sensitivity), folded here into the three tables: at
    most institutions x 7 x 3 grouped rows, never one per listing, and one scan of the listings
    instead of three. Most datasets first, then by key (an institution's name from `names`, a
    category's or sensitivity's value). Every listing counts, whatever its status now.
    """
    since, until = period.bounds()
    groups = catalog_selectors.datasets_per_owner_category_and_sensitivity(
        since=since, until=until, institution_id=_pk(institution)
    )
    labels: dict[str, dict[str, str]] = {
        "institution": {},
        "category": catalog_selectors.dataset_category_labels(),
        "sensitivity": catalog_selectors.dataset_sensitivity_labels(),
    }
    tables = {}
    for key in USAGE_TABLES:
        totals: dict[str, list[int]] = {}
        for g in groups:  # grouped rows, not listings
            value = names[g.institution_id] if key == "institution" else getattr(g, key)
            counts = totals.setdefault(value, [0, 0])
            counts[0] += g.datasets
            counts[1] += g.active
        tables[key] = [
            DatasetCount(value, labels[key].get(value, value), datasets, active)
            for value, (datasets, active) in sorted(
                totals.items(), key=lambda kv: (-kv[1][0], kv[0])
            )
        ]
    return tables


def datasets_per_week(period: Period, institution: InstitutionRef | None) -> list[DatasetsOfWeek]:
    """Listings created per week (weeks start on Monday), oldest first: one query."""
    since, until = period.bounds()
    return catalog_selectors.datasets_per_week(
        since=since, until=until, institution_id=_pk(institution), week=WeekStart
    )


# --- Usage: access requests, decisions, queues and downloads -------------------------------
#
# The institution filter means "requests by or for the institution": its staff's requests and
# the requests for its listings (and the downloads under either). The date range means: when
# the request was made (requests per week, outcomes), when the moderator or the owner decided
# (time to decision), when the download finished (downloads, bytes); the queues are as now.

State = access_selectors.RequestState
REQUEST_STATES = [
    (State.PENDING_MODERATION, "Waiting for a moderator"),
    (State.PENDING_DECISION, "Waiting for the owner"),
    (State.APPROVED, "Approved"),
    (State.DENIED, "Denied by the owner"),
    (State.REJECTED, "Rejected by a moderator"),
    (State.WITHDRAWN, "Withdrawn"),
]
DECIDED_STATES = access_selectors.DECIDED_STATES
# Downloads per dataset shows the most downloaded ones only: a table of 10^4 listings is
# neither readable nor a chart.
TOP_DATASETS = 20


@dataclass(frozen=True)
class RequestsOfWeek:
    week: date  # its Monday
    total: int
    counts: dict[str, int]  # the week's requests by their state now, every state


@dataclass(frozen=True)
class OutcomeRow:
    state: str
    label: str
    requests: int
    share: float | None  # of the decided requests, in percent; None for the undecided states


@dataclass(frozen=True)
class Outcomes:
    """The period's requests by their state now. The approval rate is approved ÷ (approved +
    denied + rejected), in percent with one decimal, over the requests decided so far (None
    before any is); open and withdrawn requests have no outcome yet or never will."""

    counts: dict[str, int]
    total: int
    decided: int
    approval_rate: float | None

    def per_state(self) -> list[OutcomeRow]:
        return [
            OutcomeRow(
                str(state),
                label,
                self.counts[str(state)],
                round(100 * self.counts[str(state)] / self.decided, 1)
                if self.decided and state in DECIDED_STATES
                else None,
            )
            for state, label in REQUEST_STATES
        ]


def requests_per_week_and_outcomes(
    period: Period, institution: InstitutionRef | None
) -> tuple[list[RequestsOfWeek], Outcomes]:
    """Requests made per week (Monday) by their state now, oldest first, and the period's
    outcomes: one GROUP BY (week, state), whose weeks x states rows also sum to the outcomes."""
    since, until = period.bounds()
    rows = access_selectors.requests_per_week_and_state(
        since=since, until=until, institution_id=_pk(institution), week=WeekStart
    )
    weeks: dict[date, dict[str, int]] = {}
    counts = {str(s): 0 for s, _ in REQUEST_STATES}
    for r in rows:  # weeks x states, not requests
        weeks.setdefault(r.week, {str(s): 0 for s, _ in REQUEST_STATES})[r.state] = r.requests
        counts[r.state] += r.requests
    weekly = _by_week(
        (RequestsOfWeek(week, sum(c.values()), c) for week, c in weeks.items()),
        lambda r: r.week,
    )
    decided = sum(counts[str(s)] for s in DECIDED_STATES)
    approved = counts[str(State.APPROVED)]
    outcomes = Outcomes(
        counts=counts,
        total=sum(counts.values()),
        decided=decided,
        approval_rate=round(100 * approved / decided, 1) if decided else None,
    )
    return weekly, outcomes


@dataclass(frozen=True)
class DecisionTime:
    """Hours from the request to a stage's decision, for the decisions taken in the range."""

    stage: str
    label: str
    decisions: int
    p50: float | None
    p90: float | None


@dataclass(frozen=True)
class QueueWait:
    """How long the requests waiting in a queue now have waited, in hours."""

    queue: str
    label: str
    waiting: int
    p50: float | None
    p90: float | None
    max: float | None


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def decision_times_and_queues(
    period: Period, institution: InstitutionRef | None
) -> tuple[list[DecisionTime], list[QueueWait]]:
    """Time to decision and the age of the waiting queues, in hours: one aggregate query on
    PostgreSQL (percentile_cont), a bounded handful on SQLite (`stats.spreads`).

    Time to decision runs from the request to the moderator's clearance or rejection, and to
    the owner's approval or denial, for decisions taken in the period. A queue's age is how
    long each waiting request has waited in it: since the request for the moderation queue,
    since its clearance (or the request, when it needed none) for the decision queue.
    """
    since, until = period.bounds()
    found = access_selectors.request_durations(
        since=since,
        until=until,
        institution_id=_pk(institution),
        seconds=Seconds,
        spreads=spreads,
    )
    times = [
        DecisionTime(
            stage, label, found[stage].count, _hours(found[stage].p50), _hours(found[stage].p90)
        )
        for stage, label in [
            ("moderation", "Moderator: cleared or rejected"),
            ("decision", "Owner: approved or denied"),
        ]
    ]
    queues = [
        QueueWait(
            queue,
            label,
            found[queue].count,
            _hours(found[queue].p50),
            _hours(found[queue].p90),
            _hours(found[queue].max),
        )
        for queue, label in [
            ("moderation_queue", "Moderation queue"),
            ("decision_queue", "Decision queue"),
        ]
    ]
    return times, queues


@dataclass(frozen=True)
class DatasetDownloads:
    dataset: int  # the listing's id
    title: str
    owner: str
    downloads: int
    rows: int
    bytes: int

    @property
    def label(self) -> str:
        return f"{self.title} ({self.owner})"


@dataclass(frozen=True)
class InstitutionDownloads:
    institution: str  # the grantee's name
    downloads: int
    rows: int
    bytes: int


@dataclass(frozen=True)
class WeekDownloads:
    week: date  # the Monday of the week they finished
    downloads: int
    rows: int
    bytes: int


def downloads_per_dataset(
    period: Period, institution: InstitutionRef | None
) -> list[DatasetDownloads]:
    """The TOP_DATASETS most downloaded listings: downloads, rows and bytes.

    Two queries: the GROUP BY on the dataset's id alone (grouping by its title and owner too
    made PostgreSQL sort every download on disk), then the titles and owners of those few.
    """
    since, until = period.bounds()
    rows = access_selectors.downloads_per_dataset(
        since=since, until=until, institution_id=_pk(institution), top=TOP_DATASETS
    )
    names = catalog_selectors.dataset_names([r.dataset for r in rows])
    return [
        DatasetDownloads(
            r.dataset, names[r.dataset].title, names[r.dataset].owner, r.downloads, r.rows, r.bytes
        )
        for r in rows
    ]


def downloads_per_institution_and_week(
    period: Period, institution: InstitutionRef | None, names: dict[int, str]
) -> tuple[list[InstitutionDownloads], list[WeekDownloads]]:
    """Downloads, rows and bytes per grantee institution (most downloads first) and per week
    finished (Monday, oldest first): one GROUP BY (grantee, week), whose at most institutions
    x weeks rows are folded into both tables here (grantees named from `names`)."""
    since, until = period.bounds()
    groups = access_selectors.downloads_per_grantee_and_week(
        since=since, until=until, institution_id=_pk(institution), week=WeekStart
    )
    per_institution: dict[str, list[int]] = {}
    per_week: dict[date, list[int]] = {}
    for g in groups:  # grantees x weeks, not downloads
        for sums in (
            per_institution.setdefault(names[g.institution_id], [0, 0, 0]),
            per_week.setdefault(g.week, [0, 0, 0]),
        ):
            sums[0] += g.downloads
            sums[1] += g.rows
            sums[2] += g.bytes
    return (
        sorted(
            (InstitutionDownloads(name, *sums) for name, sums in per_institution.items()),
            key=lambda r: (-r.downloads, r.institution),
        ),
        _by_week((WeekDownloads(week, *sums) for week, sums in per_week.items()), lambda r: r.week),
    )


@dataclass(frozen=True)
class SharingWeek:
    """Delta Sharing in a week: queries, the files and bytes they offered, and the file
    fetches with the bytes sent."""

    week: date
    queries: int
    files: int
    offered: int
    fetches: int
    sent: int


def sharing_per_week(period: Period, institution: InstitutionRef | None) -> list[SharingWeek]:
    """Delta Sharing use per week, oldest first (two grouped queries, `sharing.selectors`)."""
    rows = sharing_selectors.usage_per_week(
        period=period, institution=_pk(institution), week=WeekStart
    )
    return [SharingWeek(**row) for row in rows]


@dataclass(frozen=True)
class AccessFigures:
    """Every access figure of the usage dashboard."""

    weekly: list[RequestsOfWeek]
    outcomes: Outcomes
    decision_times: list[DecisionTime]
    queues: list[QueueWait]
    per_dataset: list[DatasetDownloads]
    per_institution: list[InstitutionDownloads]
    per_week: list[WeekDownloads]
    sharing: list[SharingWeek]
    downloads: int
    bytes: int


def institution_names() -> dict[int, str]:
    """Every member institution's name by id (one query), joined in Python to the grouped
    figures instead of joining every grouped row to its institution."""
    return consortium_selectors.institution_names()


def access_figures(
    *, period: Period, institution: InstitutionRef | None, names: dict[int, str]
) -> AccessFigures:
    """Every access figure of the usage dashboard (five aggregate queries on PostgreSQL, and
    Delta Sharing's two)."""
    weekly, outcomes = requests_per_week_and_outcomes(period, institution)
    times, queues = decision_times_and_queues(period, institution)
    per_institution, per_week = downloads_per_institution_and_week(period, institution, names)
    return AccessFigures(
        weekly=weekly,
        outcomes=outcomes,
        decision_times=times,
        queues=queues,
        per_dataset=downloads_per_dataset(period, institution),
        per_institution=per_institution,
        per_week=per_week,
        sharing=sharing_per_week(period, institution),
        # Every grantee is in per_institution, so its sums are the totals.
        downloads=sum(r.downloads for r in per_institution),
        bytes=sum(r.bytes for r in per_institution),
    )


@dataclass(frozen=True)
class UsagePayload:
    """Everything the usage page shows that is computed: what its snapshot holds."""

    tables: dict[str, list[DatasetCount]]  # by USAGE_TABLES key
    weekly: list[DatasetsOfWeek]
    access: AccessFigures


def usage_payload(period: Period, institution: InstitutionRef | None) -> UsagePayload:
    """The usage page's figures, computed now."""
    names = institution_names()
    return UsagePayload(
        tables=datasets_tables(period, institution, names),
        weekly=datasets_per_week(period, institution),
        access=access_figures(period=period, institution=institution, names=names),
    )


@dataclass
class UsageFigures:
    computed_at: datetime
    from_snapshot: bool
    total: int
    tables: dict[str, list[DatasetCount]]
    weekly: list[DatasetsOfWeek]
    access: AccessFigures


def usage_figures(*, period: Period, institution: InstitutionRef | None) -> UsageFigures:
    payload, computed_at, from_snapshot = _served(
        "usage",
        UsagePayload,
        period,
        lambda: usage_payload(period, institution),
        institution=institution,
    )
    return UsageFigures(
        computed_at=computed_at,
        from_snapshot=from_snapshot,
        total=sum(r.datasets for r in payload.tables["category"]),
        tables=payload.tables,
        weekly=payload.weekly,
        access=payload.access,
    )


# --- Storage ------------------------------------------------------------------------------

SCHEME_NAMES = {"blockchain": "Blockchain", "ipfs": "IPFS", "zigzag": "Zigzag"}
METRIC_NAMES = {
    "fault_tolerance": "Fault tolerance",
    "storage_saving": "Storage saving",
    "scalability": "Scalability",
}


@dataclass(frozen=True)
class Table1Row:
    """One measure of one scheme in a Table 1 run, beside the paper's figure (percent)."""

    scheme: str
    measure: str
    measured: float
    paper: float

    @property
    def label(self) -> str:
        return f"{self.scheme} · {self.measure}"


def table1_rows(run: Any) -> list[Table1Row]:
    """A finished Table 1 run's report (`storage.selectors.table1_latest`) as rows, each
    scheme's measures in METRICS order; none without a run."""
    if run is None:
        return []
    return [
        Table1Row(
            SCHEME_NAMES.get(scheme["scheme"], scheme["scheme"]),
            METRIC_NAMES[metric],
            scheme["measured"][metric],
            PAPER[scheme["scheme"]][metric],
        )
        for scheme in run.report.get("schemes", [])
        for metric in METRICS
    ]


@dataclass(frozen=True)
class StoragePayload:
    """The storage page's aggregates: what its snapshot holds."""

    nodes: list[NodeHealth]
    totals: StoredTotals
    repairs: list[RepairsOfDay]


@dataclass
class StorageFigures:
    computed_at: datetime
    from_snapshot: bool
    nodes: list[NodeHealth]
    totals: StoredTotals
    repairs: list[RepairsOfDay]
    last_scrub: Scrub | None
    table1: Any  # the latest finished storage Table1Run, or None
    table1_active: Any  # the Table1Run queued or running now, or None
    table1_rows: list[Table1Row]


def repairs_per_day(period: Period) -> list[RepairsOfDay]:
    """Shards found bad, repaired and moved per day, oldest first: one query."""
    since, until = period.bounds()
    return storage_selectors.repairs_per_day(since=since, until=until)


def storage_payload(period: Period) -> StoragePayload:
    """The storage page's aggregates, computed now."""
    return StoragePayload(
        nodes=storage_selectors.node_health(),
        totals=storage_selectors.stored_totals(),
        repairs=repairs_per_day(period),
    )


def storage_figures(*, period: Period) -> StorageFigures:
    # The date range narrows the repairs only. Nodes and totals are the same whatever the
    # range, and their GROUP BY over every shard is the page's dearest query (a full scan of
    # 6 x 10^5 rows, 150-300 ms): a ranged view takes them from the unfiltered snapshot (or
    # this process's copy of the unfiltered figures) and computes only its repairs.
    whole, computed_at, from_snapshot = _served(
        "storage", StoragePayload, Period(), lambda: storage_payload(Period())
    )
    repairs = whole.repairs
    if not period.is_all_time:
        repairs, repairs_at = _cached(
            f"dashboards:v{snapshots.SCHEMA_VERSION}:storage-repairs:{period.start}:{period.end}",
            lambda: repairs_per_day(period),
        )
        computed_at = min(computed_at, repairs_at)  # the page is at least this fresh
    table1 = storage_selectors.table1_latest()
    return StorageFigures(
        computed_at=computed_at,
        from_snapshot=from_snapshot,
        nodes=whole.nodes,
        totals=whole.totals,
        repairs=repairs,
        last_scrub=storage_selectors.last_scrub(),
        table1=table1,
        table1_active=storage_selectors.table1_in_progress(),
        table1_rows=table1_rows(table1),
    )


def table1_run(pk: int) -> Any:
    """The storage Table1Run `pk`, or None."""
    return storage_selectors.table1_run_get(pk)


def table1_status(run: Any) -> dict[str, Any]:
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


@dataclass(frozen=True)
class KindCount:
    kind: str
    entries: int


@dataclass(frozen=True)
class LedgerPayload:
    """The ledger page's aggregates: what its snapshot holds."""

    kinds: list[KindCount]
    counted_up_to: int
    blocks: list[BlocksOfDay]


@dataclass
class LedgerFigures:
    computed_at: datetime
    from_snapshot: bool
    tree_size: int
    blocks_total: int
    blocks: list[BlocksOfDay]
    kinds: list[KindCount]
    latest_block: SealedBlock | None
    witnesses: list[WitnessCosigning]
    verification: VerificationOutcome | None
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
    tip = ledger_selectors.log_tip()
    counted = cached["size"]
    # Counted from this very log? The leaf where the count stopped must still be there with the
    # same hash (another database, e.g. between tests, would not have it). Both queries run
    # every time, so the page's query count does not depend on the cache.
    leaf = ledger_selectors.leaf_hash_at(counted - 1)
    if counted and (leaf is None or leaf != cached["last_leaf"] or tip.size < counted):
        cached, counted = empty, 0
    rows = ledger_selectors.entries_per_day_and_kind(start=counted, end=tip.size)
    if rows:
        counts = dict(cached["counts"])
        for r in rows:
            key = (r.day, r.kind)
            counts[key] = counts.get(key, 0) + r.entries
        cached = {"size": tip.size, "last_leaf": tip.last_leaf, "counts": counts}
        cache.set(_KIND_COUNTS_KEY, cached, timeout=None)
    return cached["counts"], cached["size"]


def entries_per_kind(period: Period) -> tuple[list[KindCount], int]:
    """Entries per kind appended in the period, most first; and the tree size counted."""
    counts, size = entry_counts_by_day_and_kind()
    totals: dict[str, int] = defaultdict(int)
    for (day, kind), n in counts.items():  # days x kinds, not entries
        if (period.start is None or day >= period.start) and (
            period.end is None or day <= period.end
        ):
            totals[kind] += n
    rows = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    return [KindCount(k, n) for k, n in rows], size


def blocks_per_day(period: Period) -> list[BlocksOfDay]:
    """Blocks sealed per day and the tree size at the day's end, oldest first: one query."""
    since, until = period.bounds()
    return ledger_selectors.blocks_per_day(since=since, until=until)


def ledger_payload(period: Period) -> LedgerPayload:
    """The ledger page's aggregates, computed now."""
    kinds, size = entries_per_kind(period)
    return LedgerPayload(kinds=kinds, counted_up_to=size, blocks=blocks_per_day(period))


def ledger_figures(*, period: Period) -> LedgerFigures:
    # The latest block, its witnesses and the last verification are a few indexed rows, read
    # live; the per-kind and per-day counts come from the snapshot or the cache.
    payload, computed_at, from_snapshot = _served(
        "ledger", LedgerPayload, period, lambda: ledger_payload(period)
    )
    block = ledger_selectors.latest_sealed_block()
    return LedgerFigures(
        computed_at=computed_at,
        from_snapshot=from_snapshot,
        tree_size=payload.counted_up_to,
        blocks_total=(block.height + 1) if block else 0,
        blocks=payload.blocks,
        kinds=payload.kinds,
        latest_block=block,
        witnesses=ledger_selectors.witnesses_cosigning(
            block_height=block.height if block else None
        ),
        verification=ledger_selectors.latest_verification_outcome(),
        counted_up_to=payload.counted_up_to,
    )


# --- Snapshots ------------------------------------------------------------------------------

# What the worker computes for each dashboard's unfiltered view (services.snapshots_rebuild),
# and the dataclass each snapshot is read back into.
SNAPSHOT_PAYLOADS: dict[str, tuple[type, Callable[[], Any]]] = {
    "usage": (UsagePayload, lambda: usage_payload(Period(), None)),
    "storage": (StoragePayload, lambda: storage_payload(Period())),
    "ledger": (LedgerPayload, lambda: ledger_payload(Period())),
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

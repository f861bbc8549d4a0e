"""The dashboards' tables, declared: each a title, its columns, the rows of the figures it
shows and the kind of chart drawn from the same rows, so a page's table, its chart and its
CSV can never disagree.

A `Declared` table is built against a page's figures (`selectors.UsageFigures` and its kin)
into a `Table`: the cells as the page and the CSV show them, and the chart as plotly JSON
(`charts.py`). Nothing here queries the database; the figures are computed before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from dashboards import charts, selectors
from surveys.charts import AMBER, BLUE, GREEN, GREY, LIGHT_GREY, PURPLE, RED

# A row's value: the name of its attribute, or a function of the row.
Value = str | Callable[[Any], Any]


def _value(row: Any, value: Value) -> Any:
    return getattr(row, value) if isinstance(value, str) else value(row)


def _cell(value: Any, blank: str = "") -> Any:
    """A value as a table shows it: days and times in ISO 8601, nothing as `blank`."""
    if value is None:
        return blank
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    return value


def _number(value: Any) -> Any:
    """A value as a chart draws it: nothing is a bar of 0."""
    return 0 if value is None else value


@dataclass(frozen=True)
class Column:
    title: str
    value: Value
    numeric: bool = False  # right-aligned
    blank: str = ""  # shown for None


@dataclass(frozen=True)
class Number(Column):
    numeric: bool = True


# --- Charts: what is drawn from the rows, over the labels (the first column by default) ---


@dataclass(frozen=True)
class Series:
    name: str
    value: Value
    colour: str


@dataclass(frozen=True)
class Bars:
    """One series of bars, with their numbers on them."""

    value: Value
    y_title: str

    def figure(self, labels: list[Any], rows: Sequence[Any]) -> dict[str, Any]:
        values = [_number(_value(r, self.value)) for r in rows]
        return charts.bars(labels, values, y_title=self.y_title)


@dataclass(frozen=True)
class GroupedBars:
    """Several series side by side, or stacked."""

    series: tuple[Series, ...]
    y_title: str
    stacked: bool = False

    def figure(self, labels: list[Any], rows: Sequence[Any]) -> dict[str, Any]:
        return charts.grouped_bars(
            labels,
            [(s.name, [_number(_value(r, s.value)) for r in rows], s.colour) for s in self.series],
            y_title=self.y_title,
            stacked=self.stacked,
        )


@dataclass(frozen=True)
class BarsAndLine:
    """Bars on the left axis, a line on the right one."""

    bar: Series
    line: Series

    def figure(self, labels: list[Any], rows: Sequence[Any]) -> dict[str, Any]:
        return charts.bars_and_line(
            labels,
            [_number(_value(r, self.bar.value)) for r in rows],
            [_number(_value(r, self.line.value)) for r in rows],
            bar_name=self.bar.name,
            line_name=self.line.name,
            bar_colour=self.bar.colour,
            line_colour=self.line.colour,
        )


Chart = Bars | GroupedBars | BarsAndLine


# --- Tables ---------------------------------------------------------------------------------


@dataclass
class Table:
    """A table as a page shows it, built from a `Declared` one."""

    name: str  # the CSV's ?table= and the chart's element id
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: dict[str, Any] | None = None
    note: str = ""
    numeric: set[int] = field(default_factory=set)  # columns shown right-aligned
    csv_url: str = ""
    inline: bool = False  # placed by the page's own template, not in the list of tables
    ranged: bool = True  # the date range narrows it

    def body_html(self) -> SafeString:
        """The table's rows as HTML. Built here rather than by template loops, and with the
        standard library's escape: a page of ten tables has some 2,000 cells, on which the
        template engine (and then format_html) spent 80-150 ms."""
        cells = []
        for row in self.rows:
            cells.append("<tr>")
            for i, value in enumerate(row):
                text = escape("" if value is None else str(value))
                if i == 0:
                    cells.append(f'<th scope="row">{text}</th>')
                elif i in self.numeric:
                    cells.append(f'<td class="num">{text}</td>')
                else:
                    cells.append(f"<td>{text}</td>")
            cells.append("</tr>\n")
        return mark_safe("".join(cells))  # noqa: S308 - every value is escaped above


@dataclass(frozen=True)
class Declared:
    """A table of a dashboard: what it shows, from which of the figures' rows."""

    name: str
    title: str
    rows: Callable[[Any], Sequence[Any]]  # the figures' rows it shows, one per table row
    columns: tuple[Column, ...]
    chart: Chart | None = None
    labels: Value | None = None  # the chart's labels; the first column's cells by default
    note: str = ""
    ranged: bool = True  # the date range narrows it
    inline: bool = False  # placed by the page's own template
    # Shown only when this holds of the rows (else the page says there is nothing to show):
    # a table of zeros only says there was nothing.
    shown: Callable[[Sequence[Any]], bool] | None = None
    # The table exists only when this holds of the figures (else no table, no CSV).
    exists: Callable[[Any], bool] | None = None

    def build(self, figures: Any) -> Table | None:
        if self.exists is not None and not self.exists(figures):
            return None
        rows = self.rows(figures)
        if self.shown is not None and not self.shown(rows):
            rows = []
        cells = [[_cell(_value(r, c.value), c.blank) for c in self.columns] for r in rows]
        chart = None
        if self.chart is not None and rows:
            labels = (
                [row[0] for row in cells]
                if self.labels is None
                else [_cell(_value(r, self.labels)) for r in rows]
            )
            chart = self.chart.figure(labels, rows)
        return Table(
            name=self.name,
            title=self.title,
            columns=[c.title for c in self.columns],
            rows=cells,
            chart=chart,
            note=self.note,
            numeric={i for i, c in enumerate(self.columns) if c.numeric},
            inline=self.inline,
            ranged=self.ranged,
        )


def build(declared: Sequence[Declared], figures: Any) -> list[Table]:
    """A page's tables from its figures, in the declared order."""
    return [t for t in (d.build(figures) for d in declared) if t is not None]


# --- Usage ----------------------------------------------------------------------------------

_STATES = selectors.REQUEST_STATES
# One colour per state, in REQUEST_STATES order.
_STATE_COLOURS = (AMBER, PURPLE, GREEN, RED, GREY, LIGHT_GREY)
_DOWNLOAD_SUMS = (
    Number("Downloads", "downloads"),
    Number("Rows delivered", "rows"),
    Number("Bytes delivered", "bytes"),
)


def _in_state(state: str) -> Callable[[selectors.RequestsOfWeek], int]:
    return lambda week: week.counts[str(state)]


def _listings(key: str, title: str) -> Declared:
    return Declared(
        name=key,
        title=f"Datasets per {title.lower()}",
        rows=lambda f: f.tables[key],
        columns=(
            Column(title, "label"),
            Number("Datasets", "datasets"),
            Number("Still listed", "active"),
        ),
        chart=Bars("datasets", y_title="Datasets"),
    )


USAGE: tuple[Declared, ...] = (
    Declared(
        name="week",
        title="Datasets published per week",
        rows=lambda f: f.weekly,
        columns=(Column("Week starting", "week"), Number("Datasets", "datasets")),
        chart=Bars("datasets", y_title="Datasets"),
    ),
    *(_listings(key, title) for key, title in selectors.USAGE_TABLES.items()),
    Declared(
        name="requests",
        title="Access requests per week, by their state now",
        rows=lambda f: f.access.weekly,
        columns=(
            Column("Week starting", "week"),
            *(Number(label, _in_state(s)) for s, label in _STATES),
            Number("Total", "total"),
        ),
        chart=GroupedBars(
            tuple(
                Series(label, _in_state(s), colour)
                for (s, label), colour in zip(_STATES, _STATE_COLOURS, strict=True)
            ),
            y_title="Requests",
            stacked=True,
        ),
    ),
    Declared(
        name="outcomes",
        title="Outcomes of the requests made in the range",
        rows=lambda f: f.access.outcomes.per_state(),
        columns=(
            Column("State now", "label"),
            Number("Requests", "requests"),
            Number("Share of the decided (%)", "share"),
        ),
        chart=Bars("requests", y_title="Requests"),
        shown=lambda rows: any(r.requests for r in rows),
        note="Approval rate = approved ÷ (approved + denied + rejected); open and withdrawn "
        "requests have no outcome.",
    ),
    Declared(
        name="decision_time",
        title="Time to decision (hours after the request)",
        rows=lambda f: f.access.decision_times,
        columns=(
            Column("Decided by", "label"),
            Number("Decisions", "decisions"),
            Number("Median (h)", "p50"),
            Number("90th percentile (h)", "p90"),
        ),
        chart=GroupedBars(
            (Series("Median", "p50", BLUE), Series("90th percentile", "p90", AMBER)),
            y_title="Hours",
        ),
        shown=lambda rows: any(r.decisions for r in rows),
        note="For decisions taken in the range; percentiles interpolate between the two "
        "nearest decisions, as PostgreSQL's percentile_cont does.",
    ),
    Declared(
        name="queues",
        title="Requests waiting now, and for how long (hours)",
        rows=lambda f: f.access.queues,
        columns=(
            Column("Queue", "label"),
            Number("Waiting", "waiting"),
            Number("Median wait (h)", "p50"),
            Number("90th percentile (h)", "p90"),
            Number("Longest (h)", "max"),
        ),
        chart=GroupedBars(
            (Series("Median wait", "p50", BLUE), Series("Longest", "max", RED)),
            y_title="Hours",
        ),
        shown=lambda rows: any(r.waiting for r in rows),
        ranged=False,
        note="A request waits in the decision queue from its clearance (or from the "
        "request, when it needed none).",
    ),
    Declared(
        name="downloads_dataset",
        title=f"Downloads per dataset (the {selectors.TOP_DATASETS} most downloaded)",
        rows=lambda f: f.access.per_dataset,
        columns=(Column("Dataset (owner)", "label"), *_DOWNLOAD_SUMS),
        chart=Bars("downloads", y_title="Downloads"),
    ),
    Declared(
        name="downloads_institution",
        title="Downloads per grantee institution",
        rows=lambda f: f.access.per_institution,
        columns=(Column("Institution", "institution"), *_DOWNLOAD_SUMS),
        chart=Bars("downloads", y_title="Downloads"),
    ),
    Declared(
        name="bytes",
        title="Bytes delivered per week",
        rows=lambda f: f.access.per_week,
        columns=(Column("Week starting", "week"), *_DOWNLOAD_SUMS),
        chart=Bars("bytes", y_title="Bytes"),
        note="Finished downloads only: a stream the client abandoned delivered an unknown "
        "part of its view and is not counted.",
    ),
    Declared(
        name="sharing",
        title="Delta Sharing per week",
        rows=lambda f: f.access.sharing,
        columns=(
            Column("Week starting", "week"),
            Number("Queries", "queries"),
            Number("Files offered", "files"),
            Number("Bytes offered", "offered"),
            Number("Files fetched", "fetches"),
            Number("Bytes sent", "sent"),
        ),
        chart=Bars("sent", y_title="Bytes sent"),
        note="Files fetched counts each file once per query, however many range requests "
        "read it; bytes sent counts every byte of them.",
    ),
)


# --- Storage --------------------------------------------------------------------------------

TABLE1 = Declared(
    name="table1",
    title="Table 1, measured beside the paper's",
    rows=lambda f: f.table1_rows,
    columns=(
        Column("Scheme", "scheme"),
        Column("Measure", "measure"),
        Number("Measured (%)", "measured"),
        Number("Paper (%)", "paper"),
    ),
    chart=GroupedBars(
        (Series("Measured", "measured", BLUE), Series("Paper", "paper", GREY)),
        y_title="Percent",
    ),
    labels="label",
    inline=True,
    exists=lambda f: f.table1 is not None,
)

STORAGE: tuple[Declared, ...] = (
    Declared(
        name="nodes",
        title="Nodes and their health",
        rows=lambda f: f.nodes,
        columns=(
            Column("Node", "name"),
            Column("Kind", "kind"),
            Column("Status", "status"),
            Number("Shards", "shards"),
            Number("Bad shards", "bad_shards"),
            Number("Bytes held", "stored_bytes"),
            Column("Checked", "last_checked_at"),
        ),
        chart=GroupedBars(
            (Series("Good shards", "good_shards", BLUE), Series("Bad shards", "bad_shards", RED)),
            y_title="Shards",
            stacked=True,
        ),
        ranged=False,
    ),
    Declared(
        name="repairs",
        title="Repairs per day",
        rows=lambda f: f.repairs,
        columns=(
            Column("Day", "day"),
            Number("Found missing", "found_missing"),
            Number("Found corrupt", "found_corrupt"),
            Number("Repaired", "repaired"),
            Number("Moved", "moved"),
        ),
        chart=GroupedBars(
            (
                Series("Found missing", "found_missing", AMBER),
                Series("Found corrupt", "found_corrupt", RED),
                Series("Repaired", "repaired", GREEN),
                Series("Moved", "moved", PURPLE),
            ),
            y_title="Shards",
        ),
    ),
    TABLE1,
)


# --- Ledger ---------------------------------------------------------------------------------

LEDGER: tuple[Declared, ...] = (
    Declared(
        name="blocks",
        title="Blocks sealed per day, and the tree size at the day's last block",
        rows=lambda f: f.blocks,
        columns=(
            Column("Day", "day"),
            Number("Blocks", "blocks"),
            Number("Tree size", "tree_size"),
        ),
        chart=BarsAndLine(
            Series("Blocks", "blocks", BLUE), Series("Tree size", "tree_size", GREEN)
        ),
    ),
    Declared(
        name="kinds",
        title="Events per kind",
        rows=lambda f: f.kinds,
        columns=(Column("Kind", "kind"), Number("Entries", "entries")),
        chart=Bars("entries", y_title="Entries"),
    ),
    Declared(
        name="witnesses",
        title="Witnesses and their cosignatures",
        rows=lambda f: f.witnesses,
        columns=(
            Column("Witness", "name"),
            Column("Institution", "institution"),
            Column("Cosigned the latest checkpoint", "cosigned_at", blank="no"),
            Number("Cosignatures", "cosignatures"),
            Number("Last cosigned size", "last_cosigned_size"),
            Column("Last status", "status_label"),
        ),
        ranged=False,
    ),
)

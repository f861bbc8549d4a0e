"""Dashboard pages (managers and moderators), their CSV exports and the Table 1 button.

Each page is a list of `Table`s — title, columns, rows and the chart drawn from the same rows —
so the page's table, its chart and its CSV can never disagree.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from consortium.models import Institution
from dashboards import charts, selectors
from dashboards.selectors import Period
from portal.errors import DomainError
from portal.permissions import Perm, can, require
from storage import selectors as storage_selectors
from storage.table1 import DEFINITIONS, METRICS, PAPER
from surveys.charts import AMBER, BLUE, GREEN, GREY, LIGHT_GREY, PURPLE, RED

# --- Filters ------------------------------------------------------------------------------


class PeriodForm(forms.Form):
    since = forms.DateField(label="From", required=False, widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput({"type": "date"}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end of the range must not be before its start.")
        return cleaned

    def period(self) -> Period:
        if not self.is_valid():
            return Period()
        return Period(self.cleaned_data.get("since"), self.cleaned_data.get("until"))


class UsageForm(PeriodForm):
    institution = forms.ModelChoiceField(
        queryset=Institution.objects.order_by("name"),
        to_field_name="slug",
        required=False,
        empty_label="All institutions",
    )

    def chosen_institution(self) -> Institution | None:
        return self.cleaned_data.get("institution") if self.is_valid() else None


# --- Tables -------------------------------------------------------------------------------


@dataclass
class Table:
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


def _page(request: HttpRequest, template: str, context: dict[str, Any], form: forms.Form):  # type: ignore[no-untyped-def]
    query = request.GET.urlencode()
    for table in context["tables"]:
        table.csv_url = f"{context['csv_url']}?table={table.name}" + (f"&{query}" if query else "")
    charts_by_name = {t.name: t.chart for t in context["tables"] if t.chart and t.rows}
    status = 400 if request.GET and not form.is_valid() else 200
    return render(
        request, template, {**context, "form": form, "charts": charts_by_name}, status=status
    )


def _csv(tables: list[Table], request: HttpRequest, prefix: str) -> HttpResponse:
    name = request.GET.get("table", "")
    table = next((t for t in tables if t.name == name), None)
    if table is None:
        raise Http404(f"No table “{name}”; choose one of {', '.join(t.name for t in tables)}.")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{prefix}-{table.name}.csv"'
    writer = csv.writer(response)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    return response


# Spreadsheet programs run cells starting with these as formulas (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def _dashboard(build: Callable[[HttpRequest], dict[str, Any]]):  # type: ignore[no-untyped-def]
    """Page and CSV views of one dashboard from the function that builds its context."""

    @login_required
    @require_GET
    def page(request: HttpRequest) -> HttpResponse:
        require(request.user, Perm.DASHBOARD_VIEW)
        context = build(request)
        return _page(request, context.pop("template"), context, context["form"])

    @login_required
    @require_GET
    def export(request: HttpRequest) -> HttpResponse:
        require(request.user, Perm.DASHBOARD_VIEW)
        context = build(request)
        return _csv(context["tables"], request, context["csv_prefix"])

    return page, export


# --- Usage --------------------------------------------------------------------------------


def _usage(request: HttpRequest) -> dict[str, Any]:
    form = UsageForm(request.GET or None)
    institution = form.chosen_institution()
    figures = selectors.usage_figures(period=form.period(), institution=institution)
    tables = []
    for key, title in selectors.USAGE_TABLES.items():
        rows = figures.tables[key]
        tables.append(
            Table(
                name=key,
                title=f"Datasets per {title.lower()}",
                columns=[title, "Datasets", "Still listed"],
                rows=[[r["label"], r["datasets"], r["active"]] for r in rows],
                chart=charts.bars(
                    [r["label"] for r in rows], [r["datasets"] for r in rows], y_title="Datasets"
                ),
                numeric={1, 2},
            )
        )
    weekly = figures.weekly
    tables.insert(
        0,
        Table(
            name="week",
            title="Datasets published per week",
            columns=["Week starting", "Datasets"],
            rows=[[r["week"].isoformat(), r["datasets"]] for r in weekly],
            chart=charts.bars(
                [r["week"].isoformat() for r in weekly],
                [r["datasets"] for r in weekly],
                y_title="Datasets",
            ),
            numeric={1},
        ),
    )
    tables += _access_tables(figures.access)
    return {
        "template": "dashboards/usage.html",
        "form": form,
        "figures": figures,
        "access": figures.access,
        "institution": institution,
        "tables": tables,
        "csv_url": reverse("dashboard-usage-csv"),
        "csv_prefix": "usage",
    }


def _blank(value: object) -> object:
    return "" if value is None else value


def _access_tables(access: dict[str, Any]) -> list[Table]:
    """The request, decision, queue and download tables of the usage page."""
    states = selectors.REQUEST_STATES
    weekly, outcomes = access["weekly"], access["outcomes"]
    weeks = [r["week"].isoformat() for r in weekly]
    state_colours = [AMBER, PURPLE, GREEN, RED, GREY, LIGHT_GREY]
    decided = outcomes["decided"]
    outcome_rows = [
        [
            label,
            outcomes["counts"][str(state)],
            round(100 * outcomes["counts"][str(state)] / decided, 1)
            if decided and state in selectors.DECIDED_STATES
            else "",
        ]
        for state, label in states
    ]
    times, queues = access["decision_times"], access["queues"]
    per_dataset, per_institution, per_week = (
        access["per_dataset"],
        access["per_institution"],
        access["per_week"],
    )
    dataset_labels = [f"{r['title']} ({r['owner']})" for r in per_dataset]
    # Snapshots written before sharing existed have no such figure: none until the next.
    sharing = access.get("sharing", [])
    return [
        Table(
            name="requests",
            title="Access requests per week, by their state now",
            columns=["Week starting", *[label for _s, label in states], "Total"],
            rows=[[r["week"].isoformat(), *[r[s] for s, _l in states], r["total"]] for r in weekly],
            chart=charts.grouped_bars(
                weeks,
                [
                    (label, [r[s] for r in weekly], colour)
                    for (s, label), colour in zip(states, state_colours, strict=True)
                ],
                y_title="Requests",
                stacked=True,
            ),
            numeric=set(range(1, len(states) + 2)),
        ),
        Table(
            name="outcomes",
            title="Outcomes of the requests made in the range",
            columns=["State now", "Requests", "Share of the decided (%)"],
            # All zero means no requests: the table says "nothing to show" rather than zeros.
            rows=outcome_rows if outcomes["total"] else [],
            chart=charts.bars(
                [r[0] for r in outcome_rows], [r[1] for r in outcome_rows], y_title="Requests"
            ),
            numeric={1, 2},
            note="Approval rate = approved ÷ (approved + denied + rejected); open and withdrawn "
            "requests have no outcome.",
        ),
        Table(
            name="decision_time",
            title="Time to decision (hours after the request)",
            columns=["Decided by", "Decisions", "Median (h)", "90th percentile (h)"],
            rows=[[t["label"], t["decisions"], _blank(t["p50"]), _blank(t["p90"])] for t in times]
            if any(t["decisions"] for t in times)
            else [],
            chart=charts.grouped_bars(
                [t["label"] for t in times],
                [
                    ("Median", [t["p50"] or 0 for t in times], BLUE),
                    ("90th percentile", [t["p90"] or 0 for t in times], AMBER),
                ],
                y_title="Hours",
            ),
            numeric={1, 2, 3},
            note="For decisions taken in the range; percentiles interpolate between the two "
            "nearest decisions, as PostgreSQL's percentile_cont does.",
        ),
        Table(
            name="queues",
            title="Requests waiting now, and for how long (hours)",
            columns=["Queue", "Waiting", "Median wait (h)", "90th percentile (h)", "Longest (h)"],
            rows=[
                [q["label"], q["waiting"], _blank(q["p50"]), _blank(q["p90"]), _blank(q["max"])]
                for q in queues
            ]
            if any(q["waiting"] for q in queues)
            else [],
            chart=charts.grouped_bars(
                [q["label"] for q in queues],
                [
                    ("Median wait", [q["p50"] or 0 for q in queues], BLUE),
                    ("Longest", [q["max"] or 0 for q in queues], RED),
                ],
                y_title="Hours",
            ),
            numeric={1, 2, 3, 4},
            ranged=False,
            note="A request waits in the decision queue from its clearance (or from the "
            "request, when it needed none).",
        ),
        Table(
            name="downloads_dataset",
            title=f"Downloads per dataset (the {selectors.TOP_DATASETS} most downloaded)",
            columns=["Dataset (owner)", "Downloads", "Rows delivered", "Bytes delivered"],
            rows=[
                [label, r["downloads"], r["rows"], r["bytes"]]
                for label, r in zip(dataset_labels, per_dataset, strict=True)
            ],
            chart=charts.bars(
                dataset_labels, [r["downloads"] for r in per_dataset], y_title="Downloads"
            ),
            numeric={1, 2, 3},
        ),
        Table(
            name="downloads_institution",
            title="Downloads per grantee institution",
            columns=["Institution", "Downloads", "Rows delivered", "Bytes delivered"],
            rows=[
                [r["institution"], r["downloads"], r["rows"], r["bytes"]] for r in per_institution
            ],
            chart=charts.bars(
                [r["institution"] for r in per_institution],
                [r["downloads"] for r in per_institution],
                y_title="Downloads",
            ),
            numeric={1, 2, 3},
        ),
        Table(
            name="bytes",
            title="Bytes delivered per week",
            columns=["Week starting", "Downloads", "Rows delivered", "Bytes delivered"],
            rows=[[r["week"].isoformat(), r["downloads"], r["rows"], r["bytes"]] for r in per_week],
            chart=charts.bars(
                [r["week"].isoformat() for r in per_week],
                [r["bytes"] for r in per_week],
                y_title="Bytes",
            ),
            numeric={1, 2, 3},
            note="Finished downloads only: a stream the client abandoned delivered an unknown "
            "part of its view and is not counted.",
        ),
        Table(
            name="sharing",
            title="Delta Sharing per week",
            columns=[
                "Week starting",
                "Queries",
                "Files offered",
                "Bytes offered",
                "Files fetched",
                "Bytes sent",
            ],
            rows=[
                [
                    r["week"].isoformat(),
                    r["queries"],
                    r["files"],
                    r["offered"],
                    r["fetches"],
                    r["sent"],
                ]
                for r in sharing
            ],
            chart=charts.bars(
                [r["week"].isoformat() for r in sharing],
                [r["sent"] for r in sharing],
                y_title="Bytes sent",
            ),
            numeric={1, 2, 3, 4, 5},
            note="Files fetched counts each file once per query, however many range requests "
            "read it; bytes sent counts every byte of them.",
        ),
    ]


usage, usage_csv = _dashboard(_usage)


# --- Storage ------------------------------------------------------------------------------

_SCHEME_NAMES = {"blockchain": "Blockchain", "ipfs": "IPFS", "zigzag": "Zigzag"}
_METRIC_NAMES = {
    "fault_tolerance": "Fault tolerance",
    "storage_saving": "Storage saving",
    "scalability": "Scalability",
}


def _table1_table(run: Any) -> Table | None:
    if run is None:
        return None
    rows, labels, measured, paper = [], [], [], []
    for scheme in run.report.get("schemes", []):
        name = _SCHEME_NAMES.get(scheme["scheme"], scheme["scheme"])
        for metric in METRICS:
            ours, theirs = scheme["measured"][metric], PAPER[scheme["scheme"]][metric]
            rows.append([name, _METRIC_NAMES[metric], ours, theirs])
            labels.append(f"{name} · {_METRIC_NAMES[metric]}")
            measured.append(ours)
            paper.append(theirs)
    return Table(
        name="table1",
        title="Table 1, measured beside the paper's",
        columns=["Scheme", "Measure", "Measured (%)", "Paper (%)"],
        rows=rows,
        chart=charts.grouped_bars(
            labels,
            [("Measured", measured, BLUE), ("Paper", paper, GREY)],
            y_title="Percent",
        ),
        numeric={2, 3},
        inline=True,
    )


def _storage(request: HttpRequest) -> dict[str, Any]:
    form = PeriodForm(request.GET or None)
    figures = selectors.storage_figures(period=form.period())
    nodes = figures.nodes
    node_names = [n["name"] for n in nodes]
    tables = [
        Table(
            name="nodes",
            title="Nodes and their health",
            columns=["Node", "Kind", "Status", "Shards", "Bad shards", "Bytes held", "Checked"],
            rows=[
                [
                    n["name"],
                    n["kind"],
                    n["status"],
                    n["shards"],
                    n["bad_shards"],
                    n["stored_bytes"],
                    n["last_checked_at"].isoformat() if n["last_checked_at"] else "",
                ]
                for n in nodes
            ],
            chart=charts.grouped_bars(
                node_names,
                [
                    ("Good shards", [n["shards"] - n["bad_shards"] for n in nodes], BLUE),
                    ("Bad shards", [n["bad_shards"] for n in nodes], RED),
                ],
                y_title="Shards",
                stacked=True,
            ),
            numeric={3, 4, 5},
            ranged=False,
        ),
        Table(
            name="repairs",
            title="Repairs per day",
            columns=["Day", "Found missing", "Found corrupt", "Repaired", "Moved"],
            rows=[
                [
                    r["day"].isoformat(),
                    r["found_missing"],
                    r["found_corrupt"],
                    r["repaired"],
                    r["moved"],
                ]
                for r in figures.repairs
            ],
            chart=charts.grouped_bars(
                [r["day"].isoformat() for r in figures.repairs],
                [
                    ("Found missing", [r["found_missing"] for r in figures.repairs], AMBER),
                    ("Found corrupt", [r["found_corrupt"] for r in figures.repairs], RED),
                    ("Repaired", [r["repaired"] for r in figures.repairs], GREEN),
                    ("Moved", [r["moved"] for r in figures.repairs], PURPLE),
                ],
                y_title="Shards",
            ),
            numeric={1, 2, 3, 4},
        ),
    ]
    table1 = _table1_table(figures.table1)
    if table1 is not None:
        tables.append(table1)
    return {
        "template": "dashboards/storage.html",
        "form": form,
        "figures": figures,
        "tables": tables,
        "table1": table1,
        "definitions": [(_METRIC_NAMES[m], DEFINITIONS[m]) for m in METRICS],
        "may_run_table1": can(request.user, Perm.TABLE1_RUN),
        "csv_url": reverse("dashboard-storage-csv"),
        "csv_prefix": "storage",
    }


storage, storage_csv = _dashboard(_storage)


# What the button runs: storage.table1.Settings' defaults (10 nodes, 200 trials) unless changed.
TABLE1_OPTIONS: dict[str, int] = {}


@login_required
@require_POST
def table1_start(request: HttpRequest) -> HttpResponse:
    """Queue a new Table 1 experiment (moderators); the page then shows its progress."""
    require(request.user, Perm.TABLE1_RUN)
    from storage.services import table1_request

    try:
        run, created = table1_request(by=request.user.get_username(), **TABLE1_OPTIONS)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if created:
            messages.success(request, "A new Table 1 experiment is queued; progress shows below.")
        else:
            messages.info(
                request, f"An experiment is already {run.status}; its progress shows below."
            )
    return redirect("dashboard-storage")


@login_required
@require_GET
def table1_status(request: HttpRequest, pk: int) -> JsonResponse:
    """How far a Table 1 run has got, for the page to poll."""
    require(request.user, Perm.DASHBOARD_VIEW)
    run = storage_selectors.table1_run_get(pk)
    if run is None:
        raise Http404("No such Table 1 run.")
    return JsonResponse(selectors.table1_status(run))


# --- Ledger -------------------------------------------------------------------------------


def _ledger(request: HttpRequest) -> dict[str, Any]:
    form = PeriodForm(request.GET or None)
    figures = selectors.ledger_figures(period=form.period())
    blocks, kinds = figures.blocks, figures.kinds
    tables = [
        Table(
            name="blocks",
            title="Blocks sealed per day, and the tree size at the day's last block",
            columns=["Day", "Blocks", "Tree size"],
            rows=[[b["day"].isoformat(), b["blocks"], b["tree_size"]] for b in blocks],
            chart=charts.bars_and_line(
                [b["day"].isoformat() for b in blocks],
                [b["blocks"] for b in blocks],
                [b["tree_size"] for b in blocks],
                bar_name="Blocks",
                line_name="Tree size",
            ),
            numeric={1, 2},
        ),
        Table(
            name="kinds",
            title="Events per kind",
            columns=["Kind", "Entries"],
            rows=[[k["kind"], k["entries"]] for k in kinds],
            chart=charts.bars(
                [k["kind"] for k in kinds], [k["entries"] for k in kinds], y_title="Entries"
            ),
            numeric={1},
        ),
        Table(
            name="witnesses",
            title="Witnesses and their cosignatures",
            columns=[
                "Witness",
                "Institution",
                "Cosigned the latest checkpoint",
                "Cosignatures",
                "Last cosigned size",
                "Last status",
            ],
            rows=[
                [
                    w["name"],
                    w["institution"],
                    w["cosigned_at"].isoformat() if w["cosigned_at"] else "no",
                    w["cosignatures"],
                    w["last_cosigned_size"],
                    w["status_label"],
                ]
                for w in figures.witnesses
            ],
            numeric={3, 4},
            ranged=False,
        ),
    ]
    return {
        "template": "dashboards/ledger.html",
        "form": form,
        "figures": figures,
        "tables": tables,
        "csv_url": reverse("dashboard-ledger-csv"),
        "csv_prefix": "ledger",
    }


ledger, ledger_csv = _dashboard(_ledger)


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.DASHBOARD_VIEW)
    return redirect("dashboard-usage")

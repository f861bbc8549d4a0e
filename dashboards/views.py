"""Dashboard pages (managers and moderators), their CSV exports and the Table 1 button.

Each page is its figures (`selectors.py`, where every query is) and the tables declared for it
(`tables.py`); the page, its charts and each table's CSV are built from the same rows.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboards import selectors, tables
from dashboards.forms import PeriodForm, UsageForm
from dashboards.tables import Table
from portal.errors import DomainError
from portal.permissions import Perm, can, require
from storage.services import table1_request
from storage.table1 import DEFINITIONS, METRICS


def _page(request: HttpRequest, template: str, context: dict[str, Any], form: forms.Form):
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


def _dashboard(build: Callable[[HttpRequest, bool], dict[str, Any]]):
    """Page and CSV views of one dashboard from the function that builds its context (for the
    page, or only its tables for a CSV)."""

    @login_required
    @require_GET
    def page(request: HttpRequest) -> HttpResponse:
        require(request.user, Perm.DASHBOARD_VIEW)
        context = build(request, True)
        return _page(request, context.pop("template"), context, context["form"])

    @login_required
    @require_GET
    def export(request: HttpRequest) -> HttpResponse:
        require(request.user, Perm.DASHBOARD_VIEW)
        context = build(request, False)
        return _csv(context["tables"], request, context["csv_prefix"])

    return page, export


def _usage(request: HttpRequest, page: bool) -> dict[str, Any]:
    # The institutions are read for the page's filter, or to find the one a CSV asks for; the
    # CSV of them all needs none.
    wanted = page or bool(request.GET.get("institution"))
    form = UsageForm(
        request.GET or None, institutions=selectors.institution_choices() if wanted else []
    )
    institution = form.chosen_institution()
    figures = selectors.usage_figures(period=form.period(), institution=institution)
    return {
        "template": "dashboards/usage.html",
        "form": form,
        "figures": figures,
        "access": figures.access,
        "institution": institution,
        "tables": tables.build(tables.USAGE, figures),
        "csv_url": reverse("dashboard-usage-csv"),
        "csv_prefix": "usage",
    }


usage, usage_csv = _dashboard(_usage)


def _storage(request: HttpRequest, page: bool) -> dict[str, Any]:
    form = PeriodForm(request.GET or None)
    figures = selectors.storage_figures(period=form.period())
    built = tables.build(tables.STORAGE, figures)
    return {
        "template": "dashboards/storage.html",
        "form": form,
        "figures": figures,
        "tables": built,
        "table1": next((t for t in built if t.name == tables.TABLE1.name), None),
        "definitions": [(selectors.METRIC_NAMES[m], DEFINITIONS[m]) for m in METRICS],
        "may_run_table1": can(request.user, Perm.TABLE1_RUN),
        "csv_url": reverse("dashboard-storage-csv"),
        "csv_prefix": "storage",
    }


storage, storage_csv = _dashboard(_storage)


def _ledger(request: HttpRequest, page: bool) -> dict[str, Any]:
    form = PeriodForm(request.GET or None)
    figures = selectors.ledger_figures(period=form.period())
    return {
        "template": "dashboards/ledger.html",
        "form": form,
        "figures": figures,
        "tables": tables.build(tables.LEDGER, figures),
        "csv_url": reverse("dashboard-ledger-csv"),
        "csv_prefix": "ledger",
    }


ledger, ledger_csv = _dashboard(_ledger)


# What the button runs: storage.table1.Settings' defaults (10 nodes, 200 trials) unless changed.
TABLE1_OPTIONS: dict[str, int] = {}


@login_required
@require_POST
def table1_start(request: HttpRequest) -> HttpResponse:
    """Queue a new Table 1 experiment (moderators); the page then shows its progress."""
    require(request.user, Perm.TABLE1_RUN)
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
    run = selectors.table1_run(pk)
    if run is None:
        raise Http404("No such Table 1 run.")
    return JsonResponse(selectors.table1_status(run))


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.DASHBOARD_VIEW)
    return redirect("dashboard-usage")

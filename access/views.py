"""Access pages: ask for data, my requests, the moderation queue, decisions, grants with their
downloads, revocation, notifications. The same services as the API do the work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from access import extensions, rowfilter, selectors, services
from access.api import streaming_response
from access.forms import (
    ApproveForm,
    NoteForm,
    ReasonForm,
    RequestForm,
    add_refusal,
    revoke_form,
)
from access.models import AccessRequest, Grant
from access.notifications import latest as latest_notifications
from access.notifications import mark_read
from catalog.models import Dataset
from catalog.selectors import dataset_for
from portal.errors import DomainError
from portal.permissions import AuthenticatedHttpRequest, Perm, can, require
from portal.redirects import safe_next


def _request(request: AuthenticatedHttpRequest, pk: int) -> AccessRequest:
    return selectors.request_or_404(user=request.user, pk=pk)


def _grant(request: AuthenticatedHttpRequest, pk: int) -> Grant:
    return selectors.grant_or_404(user=request.user, pk=pk)


def _dataset(request: AuthenticatedHttpRequest, pk: int) -> Dataset:
    dataset = dataset_for(user=request.user, pk=pk)
    if dataset is None:
        raise Http404("No such dataset, or not yours to see.")
    return dataset


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The request form of a listing (also shown on the listing page itself)."""
    dataset = _dataset(request, pk)
    require(request.user, Perm.ACCESS_REQUEST_CREATE, dataset)
    form = RequestForm(request.POST or None, version=dataset.current_version)
    if form.is_bound and form.is_valid():
        try:
            created = services.access_request_create(
                user=request.user,
                dataset=dataset,
                purpose=form.cleaned_data["purpose"],
                columns=form.cleaned_data["columns"],
                filter_text=form.cleaned_data["filter"],
                duration_days=form.cleaned_data["duration_days"],
            )
        except DomainError as exc:
            add_refusal(form, exc)
        else:
            messages.success(request, f"Request #{created.pk} sent.")
            return redirect("access-request", pk=created.pk)
    return render(
        request,
        "access/request_new.html",
        {
            "dataset": dataset,
            "version": dataset.current_version,
            "form": form,
            "max_days": settings.ACCESS_MAX_DAYS,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def filter_check(request: AuthenticatedHttpRequest, pk: int) -> JsonResponse:
    """Live validation of a row filter against a listing's schema (the form calls it)."""
    dataset = _dataset(request, pk)
    version = dataset.current_version
    if version is None:
        return JsonResponse({"ok": False, "error": "This listing has no data yet."})
    try:
        node = rowfilter.parse(request.POST.get("filter", ""), version.columns)
    except DomainError as exc:
        return JsonResponse({"ok": False, "error": exc.message})
    return JsonResponse({"ok": True, "canonical": rowfilter.canonical(node)})


@login_required
def my_requests(request: AuthenticatedHttpRequest) -> HttpResponse:
    page = Paginator(selectors.requests_visible(user=request.user), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "access/requests.html", {"page": page})


@login_required
def moderation_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    require(request.user, Perm.ACCESS_QUEUE_VIEW)
    queue = list(selectors.moderation_queue(user=request.user)[:200])
    now = timezone.now()
    return render(request, "access/moderation.html", {"queue": queue, "now": now})


@login_required
def decisions(request: AuthenticatedHttpRequest) -> HttpResponse:
    waiting = list(selectors.awaiting_decision(user=request.user)[:200])
    return render(request, "access/decisions.html", {"waiting": waiting})


def _request_forms(
    access_request: AccessRequest, data: Any = None, *, bound: str = ""
) -> dict[str, forms.Form]:
    """The forms of a request's page, by name; the one named `bound` gets `data`."""

    def given(name: str) -> Any:
        return data if name == bound else None

    return {
        "clear_form": NoteForm(given("clear_form"), auto_id="clear-%s"),
        "reject_form": ReasonForm(given("reject_form"), auto_id="reject-%s"),
        "approve_form": ApproveForm(given("approve_form"), request=access_request),
        "deny_form": ReasonForm(given("deny_form"), auto_id="deny-%s"),
        "withdraw_form": NoteForm(given("withdraw_form"), auto_id="withdraw-%s"),
    }


def _request_page(
    request: AuthenticatedHttpRequest,
    access_request: AccessRequest,
    page_forms: dict[str, forms.Form],
    status: int = 200,
) -> HttpResponse:
    user = request.user
    state = access_request.state
    types = {c["name"]: c["type"] for c in access_request.version.columns}
    return render(
        request,
        "access/request.html",
        {
            "r": access_request,
            "grant": getattr(access_request, "grant", None)
            if state == AccessRequest.State.APPROVED
            else None,
            "columns": [(c, types[c]) for c in access_request.columns],
            "may_moderate": state == AccessRequest.State.PENDING_MODERATION
            and can(user, Perm.ACCESS_REQUEST_MODERATE, access_request),
            "may_decide": state == AccessRequest.State.PENDING_DECISION
            and can(user, Perm.ACCESS_REQUEST_DECIDE, access_request),
            # Suspended or withdrawn: reject and deny stay, clear and approve wait.
            "frozen": access_request.dataset.freeze_reason,
            "may_withdraw": access_request.is_open
            and can(user, Perm.ACCESS_REQUEST_WITHDRAW, access_request),
            "max_days": access_request.duration_days,
            "ledger": selectors.request_ledger(request=access_request),
            **page_forms,
        },
        status=status,
    )


@login_required
def request_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    access_request = _request(request, pk)
    return _request_page(request, access_request, _request_forms(access_request))


def _request_action(
    perm: Perm,
    name: str,
    act: Callable[[Any, AccessRequest, Any], Any],
    done: str | Callable[[Any], str],
) -> Callable[..., HttpResponse]:
    """A form of the request page: `act(user, request, form)` once `form` is valid, then back
    to the page saying `done` (a text, or a function of what `act` returned). A refusal is
    shown on the form with everything sent, except a conflict (the request changed
    meanwhile), which the page itself shows."""

    @login_required
    @require_POST
    def view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        access_request = _request(request, pk)
        require(request.user, perm, access_request)
        page_forms = _request_forms(access_request, request.POST, bound=name)
        form = page_forms[name]
        if form.is_valid():
            try:
                outcome = act(request.user, access_request, form)
            except DomainError as exc:
                if exc.code != "conflict":
                    add_refusal(form, exc)
                    return _request_page(request, access_request, page_forms, status=400)
                messages.error(request, exc.message)
            else:
                messages.success(request, done(outcome) if callable(done) else done)
            return redirect("access-request", pk=access_request.pk)
        return _request_page(request, access_request, page_forms, status=400)

    return view


def _with_reason(action: Callable[..., Any]) -> Callable[[Any, AccessRequest, Any], Any]:
    return lambda user, access_request, form: action(
        user=user, request=access_request, reason=form.cleaned_data["reason"]
    )


request_clear = _request_action(
    Perm.ACCESS_REQUEST_MODERATE,
    "clear_form",
    _with_reason(services.access_request_clear),
    "Cleared.",
)
request_reject = _request_action(
    Perm.ACCESS_REQUEST_MODERATE,
    "reject_form",
    _with_reason(services.access_request_reject),
    "Rejected.",
)
request_deny = _request_action(
    Perm.ACCESS_REQUEST_DECIDE, "deny_form", _with_reason(services.access_request_deny), "Denied."
)
request_withdraw = _request_action(
    Perm.ACCESS_REQUEST_WITHDRAW,
    "withdraw_form",
    _with_reason(services.access_request_withdraw),
    "Withdrawn.",
)
request_approve = _request_action(
    Perm.ACCESS_REQUEST_DECIDE,
    "approve_form",
    lambda user, access_request, form: services.access_request_approve(
        user=user, request=access_request, approval=form.approval
    ),
    lambda grant: f"Approved: grant #{grant.pk} until {grant.expires_at:%Y-%m-%d}.",
)


@dataclass
class _GrantRow:
    """A grant of the list, with what this person may do to it."""

    grant: Grant
    frozen: str | None
    may_download: bool
    may_revoke: bool
    revoke_form: ReasonForm
    panels: list[extensions.GrantPanel]


def _grants_page(
    request: AuthenticatedHttpRequest, refused: tuple[Grant, ReasonForm] | None = None
) -> HttpResponse:
    """The grants list; `refused` is a revoke form sent with errors, shown on its row, or
    above the list when the row is on another page."""
    qs = selectors.grants_visible(user=request.user).order_by("-created_at", "-pk")
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    rows = []
    for grant in page:
        active = grant.state == Grant.State.ACTIVE
        may_download = grant.refusal is None and can(request.user, Perm.GRANT_DOWNLOAD, grant)
        rows.append(
            _GrantRow(
                grant=grant,
                frozen=grant.request.dataset.freeze_reason if active else None,
                may_download=may_download,
                may_revoke=active and can(request.user, Perm.GRANT_REVOKE, grant),
                revoke_form=(
                    refused[1] if refused and refused[0].pk == grant.pk else revoke_form(grant)
                ),
                # Boxes other apps add (Delta Sharing's profile and tokens): access/extensions.py.
                panels=extensions.grant_panels(user=request.user, grant=grant)
                if may_download
                else [],
            )
        )
    context: dict[str, Any] = {"page": page, "rows": rows}
    if refused and all(grant.pk != refused[0].pk for grant in page):
        context["refused_revoke"] = {"grant": refused[0], "form": refused[1]}
    return render(request, "access/grants.html", context, status=400 if refused else 200)


@login_required
def grants(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _grants_page(request)


@login_required
def grant_download(
    request: AuthenticatedHttpRequest, pk: int
) -> StreamingHttpResponse | HttpResponse:
    grant = _grant(request, pk)
    try:
        stream = services.grant_download(
            user=request.user,
            grant=grant,
            fmt=request.GET.get("format", "csv"),
            csv=request.GET.get("csv", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("grants")
    return streaming_response(stream)


@login_required
@require_POST
def grant_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    grant = _grant(request, pk)
    require(request.user, Perm.GRANT_REVOKE, grant)
    form = revoke_form(grant, request.POST)
    if form.is_valid():
        try:
            services.grant_revoke(
                user=request.user, grant=grant, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            if exc.code != "conflict":
                add_refusal(form, exc)
                return _grants_page(request, refused=(grant, form))
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Grant #{grant.pk} revoked.")
        return redirect(safe_next(request, reverse("grants")))
    return _grants_page(request, refused=(grant, form))


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        mark_read(user=request.user)
        return redirect("notifications")
    items = latest_notifications(request.user)
    return render(request, "access/notifications.html", {"items": items})

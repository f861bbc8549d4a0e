"""Catalog pages: browse and search, publish with progress, a listing and what owners and
moderators may do to it. The same services as the API do the work."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from catalog import selectors, services
from catalog.filters import FACETS, DatasetFilter
from catalog.forms import MetadataForm, PublishForm, ReasonForm, VersionForm
from catalog.models import Dataset, DatasetUpload
from portal.errors import DomainError
from portal.permissions import AuthenticatedHttpRequest, Perm, can, require


def _dataset(request: AuthenticatedHttpRequest, pk: int) -> Dataset:
    return selectors.dataset_or_404(user=request.user, pk=pk)


@login_required
def catalog(request: AuthenticatedHttpRequest) -> HttpResponse:
    require(request.user, Perm.CATALOG_VIEW)
    found = DatasetFilter(
        request.GET, queryset=selectors.listings(user=request.user), request=request
    )
    # A refused parameter is left out of the list, and the page says which and why.
    refused = [message for errors in found.errors.values() for message in errors]
    results = found.qs.prefetch_related("tags")
    counted = selectors.facets(results=results, narrowed=found.narrowed)
    page = selectors.CountedPaginator(results, 20, count=counted.total).get_page(
        request.GET.get("page")
    )
    chosen = found.form.cleaned_data
    return render(
        request,
        "catalog/catalog.html",
        {
            "form": found.form,
            "refused": refused,
            "page": page,
            "facets": counted.facets,
            "active": {k: request.GET[k] for k in FACETS if chosen.get(k)},
            "query_string": request.GET.urlencode(),
            "may_publish": can(request.user, Perm.DATASET_PUBLISH),
        },
        status=400 if refused else 200,
    )


def _form_errors(form_errors: dict) -> dict[str, list[str]]:
    return {field: [str(e) for e in errors] for field, errors in form_errors.items()}


def _upload_outcome(request: AuthenticatedHttpRequest, upload: DatasetUpload) -> HttpResponse:
    if upload.state == DatasetUpload.State.READY:
        target = reverse("dataset", args=[upload.dataset_id])
        messages.success(request, "Published: your listing is in the catalog.")
    else:
        target = reverse("upload", args=[upload.pk])
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"redirect": target})
    return redirect(target)


def _refuse(request: AuthenticatedHttpRequest, form, template: str, context: dict) -> HttpResponse:
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"errors": _form_errors(form.errors)}, status=400)
    return render(request, template, {**context, "form": form}, status=400)


def _upload_page(request: AuthenticatedHttpRequest, form, template: str, context: dict, **start):
    """Show the form, or start the upload it carries and go where its outcome leads."""
    if request.method == "POST":
        if form.is_valid():
            try:
                upload = services.dataset_upload_start(
                    user=request.user, upload_file=form.cleaned_data["file"], **start
                )
            except DomainError as exc:
                for message in exc.messages:
                    form.add_error(exc.field if exc.field in form.fields else None, message)
            else:
                return _upload_outcome(request, upload)
        return _refuse(request, form, template, context)
    return render(request, template, {**context, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def publish(request: AuthenticatedHttpRequest) -> HttpResponse:
    require(request.user, Perm.DATASET_PUBLISH)
    form = PublishForm(request.POST or None, request.FILES or None)
    metadata = (
        {k: v for k, v in form.cleaned_data.items() if k != "file"}
        if form.is_bound and form.is_valid()
        else None
    )
    return _upload_page(request, form, "catalog/publish.html", {}, metadata=metadata)


@login_required
@require_http_methods(["GET", "POST"])
def new_version(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    dataset = _dataset(request, pk)
    require(request.user, Perm.DATASET_EDIT, dataset)
    form = VersionForm(request.POST or None, request.FILES or None)
    return _upload_page(
        request, form, "catalog/new_version.html", {"dataset": dataset}, dataset=dataset
    )


@login_required
def upload_status(request: AuthenticatedHttpRequest, pk: str) -> HttpResponse:
    upload = selectors.upload_of(user=request.user, pk=pk)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse(
            {
                "state": upload.state,
                "state_label": upload.get_state_display(),
                "progress_done": upload.progress_done,
                "progress_total": upload.progress_total,
                "problems": [p["text"] for p in upload.problems],
                "more_problems": upload.more_problems,
                "dataset_url": reverse("dataset", args=[upload.dataset_id])
                if upload.dataset_id and upload.state == "ready"
                else None,
            }
        )
    return render(request, "catalog/upload.html", {"upload": upload})


def _reason_forms(data: dict | None = None, *, bound: str = "") -> dict[str, ReasonForm]:
    """The owner's and moderators' reason forms of a listing page; `bound` gets `data`."""
    return {
        f"{name}_form": ReasonForm(data if name == bound else None, auto_id=f"{name}-%s")
        for name in ("withdraw", "suspend", "restore")
    }


def _dataset_page(
    request: AuthenticatedHttpRequest,
    dataset: Dataset,
    forms: dict[str, ReasonForm],
    status: int = 200,
) -> HttpResponse:
    version = dataset.current_version
    preview = selectors.preview_rows(user=request.user, version=version) if version else None
    return render(
        request,
        "catalog/dataset.html",
        {
            "dataset": dataset,
            "version": version,
            "versions": selectors.versions(dataset),
            "preview": preview,
            "may_edit": can(request.user, Perm.DATASET_EDIT, dataset),
            "may_moderate": can(request.user, Perm.DATASET_MODERATE, dataset),
            **forms,
            "ledger": selectors.dataset_ledger(user=request.user, dataset=dataset),
        },
        status=status,
    )


@login_required
def dataset_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _dataset_page(request, _dataset(request, pk), _reason_forms())


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    dataset = _dataset(request, pk)
    require(request.user, Perm.DATASET_EDIT, dataset)
    initial = {
        "title": dataset.title,
        "description": dataset.description,
        "category": dataset.category,
        "sensitivity": dataset.sensitivity,
        "terms": dataset.terms,
        "tags": ", ".join(t.name for t in dataset.tags.all()),
    }
    form = MetadataForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.dataset_update(
                user=request.user,
                dataset=dataset,
                change=services.MetadataChange(**form.cleaned_data),
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, "Saved.")
            return redirect("dataset", pk=dataset.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "catalog/edit.html", {"form": form, "dataset": dataset}, status=status)


def _status_action(
    action: Callable[..., Dataset], name: str, done: str
) -> Callable[[AuthenticatedHttpRequest, int], HttpResponse]:
    @login_required
    @require_POST
    def view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
        dataset = _dataset(request, pk)
        forms = _reason_forms(request.POST, bound=name)
        form = forms[f"{name}_form"]
        if form.is_valid():
            try:
                action(user=request.user, dataset=dataset, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                if exc.code == "conflict":  # its status changed meanwhile: the page shows it
                    messages.error(request, exc.message)
                    return redirect("dataset", pk=dataset.pk)
                form.add_error("reason" if exc.field == "reason" else None, exc.messages)
            else:
                messages.success(request, done)
                return redirect("dataset", pk=dataset.pk)
        return _dataset_page(request, dataset, forms, status=400)

    return view


withdraw = _status_action(
    services.dataset_withdraw, "withdraw", "Withdrawn: no new requests can be made."
)
suspend = _status_action(services.dataset_suspend, "suspend", "Suspended.")
restore = _status_action(services.dataset_restore, "restore", "Restored to the catalog.")

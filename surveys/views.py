"""Survey pages: the list, answering, the moderators' editor and the Table 2 dashboard.

The dashboard and its CSV read the snapshot row and nothing else of the answers.
"""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from portal.errors import DomainError
from portal.permissions import AuthenticatedHttpRequest, Perm, can, require
from surveys import selectors, services
from surveys.forms import AnswerForm, OptionFormSet, SurveyForm, options_from
from surveys.models import Survey


@login_required
@require_GET
def survey_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    require(request.user, Perm.SURVEY_VIEW)
    surveys = list(selectors.survey_list_qs(user=request.user))
    rows = [
        {
            "survey": s,
            "status": s.status(),
            "answer": selectors.my_answer(s),
            "may_answer": can(request.user, Perm.SURVEY_ANSWER, s),
        }
        for s in surveys
    ]
    return render(
        request,
        "surveys/list.html",
        {
            "rows": rows,
            "may_manage": can(request.user, Perm.SURVEY_MANAGE),
            "may_see_results": can(request.user, Perm.SURVEY_RESULTS_VIEW),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The question and, for its audience, the answer form (pre-filled with their answer)."""
    survey = selectors.survey_for_answering(user=request.user, pk=pk)
    answer = selectors.my_answer(survey)
    may_answer = can(request.user, Perm.SURVEY_ANSWER, survey)
    if request.method == "POST":
        require(request.user, Perm.SURVEY_ANSWER, survey)
    initial = {"option": answer.option_id, "text": answer.text} if answer else None
    data = request.POST if request.method == "POST" else None  # an empty POST is still a POST
    form = AnswerForm(data, survey=survey, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.answer_submit(
                by=request.user,
                survey=survey,
                option_id=form.cleaned_data["option"],
                text=form.cleaned_data.get("text", ""),
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                "Your answer is saved. You can change it until the survey closes."
                if answer is None
                else "Your answer is changed.",
            )
            return redirect("survey-detail", pk=survey.pk)
    return render(
        request,
        "surveys/detail.html",
        {
            "survey": survey,
            "status": survey.status(),
            "answer": answer,
            "may_answer": may_answer,
            "form": form,
            "audience": list(survey.institutions.all()),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    require(request.user, Perm.SURVEY_MANAGE)
    return _editor(request, survey=None)


@login_required
@require_http_methods(["GET", "POST"])
def survey_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    require(request.user, Perm.SURVEY_MANAGE)
    survey = get_object_or_404(selectors.survey_visible_qs(user=request.user), pk=pk)
    return _editor(request, survey=survey)


def _editor(request: AuthenticatedHttpRequest, *, survey: Survey | None) -> HttpResponse:
    answered = selectors.answered_option_ids(survey=survey) if survey else set()
    if survey is None:
        initial: dict[str, object] = {"audience": Survey.Audience.ALL_MEMBERS}
        option_initial: list[dict[str, object]] = []
    else:
        initial = SurveyForm.initial_for(survey)
        option_initial = [
            {"id": o.pk, "label": o.label, "takes_text": o.takes_text, "order": o.position}
            for o in survey.options.order_by("position")
        ]
    data = request.POST if request.method == "POST" else None
    form = SurveyForm(data, initial=initial)
    formset = OptionFormSet(data, initial=option_initial, prefix="options")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        cleaned = form.cleaned_data
        try:
            saved = services.survey_save(
                by=request.user,
                survey=survey,
                title=cleaned["title"],
                question=cleaned["question"],
                opens_at=cleaned["opens_at"],
                closes_at=cleaned["closes_at"],
                audience=cleaned["audience"],
                institutions=list(cleaned["institutions"]),
                options=options_from(formset),
            )
        except DomainError as exc:
            if exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            else:
                form.add_error(None, exc.message)
        else:
            messages.success(request, f"“{saved.title}” is saved.")
            return redirect("surveys")
    return render(
        request,
        "surveys/form.html",
        {
            "survey": survey,
            "form": form,
            "formset": formset,
            "answered": answered,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_GET
def survey_results(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The Table 2 dashboard (managers and moderators): the snapshot, never the answers."""
    results = selectors.results_for(
        user=request.user, survey_id=pk, institution=request.GET.get("institution", "")
    )
    return render(request, "surveys/results.html", {"results": results, "survey": results.survey})


# Spreadsheet programs run cells starting with these as formulas (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@login_required
@require_GET
def survey_results_csv(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Table 2 of the chosen group as CSV: Answer, Number, Proportion, and a Total row."""
    results = selectors.results_for(
        user=request.user, survey_id=pk, institution=request.GET.get("institution", "")
    )
    if results.snapshot is None:
        raise Http404("The results are still being counted; try again in a minute.")
    if not results.shown:
        raise Http404("There are no results to show for that group.")
    group = results.group
    assert group is not None
    stamp = results.snapshot.built_at.strftime("%Y%m%dT%H%M%SZ")
    name = f"survey-{results.survey.pk}-{results.group_key}-results-{stamp}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(["Answer", "Number", "Proportion"])
    for row in group["rows"]:
        writer.writerow([_cell(row["label"]), row["count"], f"{row['percent']}%"])
    total_percent = sum(row["percent"] for row in group["rows"])
    writer.writerow(["Total", group["total"], f"{total_percent}%"])
    return response

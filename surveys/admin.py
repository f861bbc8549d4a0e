"""Surveys in the Django admin, for moderators. Answers are read-only here: they are people's
own, given through the portal. Deleting an answered option is refused (Answer.option is
RESTRICT), and every save marks the results stale so the worker rebuilds them."""

from django.contrib import admin
from django.http import HttpRequest

from surveys.models import Answer, Option, ResultSnapshot, Survey
from surveys.services import mark_results_changed


class OptionInline(admin.TabularInline):
    model = Option
    extra = 0
    ordering = ["position"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["title", "opens_at", "closes_at", "audience", "results_version"]
    list_filter = ["audience"]
    search_fields = ["title", "question"]
    filter_horizontal = ["institutions"]
    readonly_fields = ["created_by", "created_at", "results_version", "rebuild_queued_at"]
    inlines = [OptionInline]

    def save_model(self, request: HttpRequest, obj: Survey, form: object, change: bool) -> None:
        if not change and request.user.is_authenticated:  # always, behind the admin's login
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(
        self, request: HttpRequest, form: object, formsets: object, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        mark_results_changed(survey_ids=[form.instance.pk])  # type: ignore[attr-defined]


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ["survey", "user", "institution", "option", "changed_at"]
    list_filter = ["survey", "institution"]
    search_fields = ["user__username", "text"]
    list_select_related = ["survey", "user", "institution", "option"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ResultSnapshot)
class ResultSnapshotAdmin(admin.ModelAdmin):
    list_display = ["survey", "version", "total", "built_at", "build_seconds", "builds"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

"""Staff tooling: look up requests, grants and downloads (changes go through access.services,
which records each on the ledger)."""

from django.contrib import admin

from access.models import AccessRequest, Download, Grant
from portal.admin import ReadOnlyAdmin


@admin.register(AccessRequest)
class AccessRequestAdmin(ReadOnlyAdmin):
    list_display = ["pk", "dataset", "institution", "state", "created_at"]
    list_filter = ["state"]
    search_fields = ["dataset__title", "institution__name"]
    list_select_related = ["dataset", "institution"]


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ["pk", "version", "institution", "created_at", "expires_at", "revoked_at"]
    search_fields = ["version__dataset__title", "institution__name"]
    list_select_related = ["version__dataset", "institution"]


@admin.register(Download)
class DownloadAdmin(ReadOnlyAdmin):
    list_display = ["pk", "grant", "institution", "format", "rows", "started_at", "finished_at"]
    list_filter = ["format"]
    list_select_related = ["grant", "institution"]

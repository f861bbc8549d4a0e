"""Staff tooling shared by the apps' admin modules, and the project's own table."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from portal.models import WorkerHeartbeat


class ReadOnlyAdmin(admin.ModelAdmin):
    """For rows whose every change goes through a service with its ledger event (listings,
    requests, grants, downloads): staff look them up here, they never edit them here, since a
    change made in the admin would be one the ledger cannot prove."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "hostname", "beat_at"]

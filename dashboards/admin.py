"""Staff tooling: the dashboards' snapshots. Deleting one makes the next page view wait for a
fresh computation instead of showing the stored one."""

from django.contrib import admin

from dashboards.models import DashboardSnapshot


@admin.register(DashboardSnapshot)
class DashboardSnapshotAdmin(admin.ModelAdmin):
    list_display = ["kind", "key", "computed_at", "took_ms"]
    list_filter = ["kind"]
    readonly_fields = ["kind", "key", "payload", "computed_at", "took_ms"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

"""Staff tooling for the ledger: witnesses are managed here; the log itself is read-only."""

from django.contrib import admin

from ledger.models import Block, Cosignature, Entry, VerificationRun, Witness


class ReadOnlyAdmin(admin.ModelAdmin):
    """The database refuses changes to the log anyway; the admin does not offer them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["index", "kind", "actor_institution", "actor_user", "dataset", "recorded_at"]
    list_filter = ["kind"]
    search_fields = ["dataset", "actor_user", "actor_institution"]


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    list_display = ["height", "tree_size", "sealed_at"]


@admin.register(Cosignature)
class CosignatureAdmin(ReadOnlyAdmin):
    list_display = ["block", "witness", "timestamp", "received_at"]


@admin.register(VerificationRun)
class VerificationRunAdmin(ReadOnlyAdmin):
    list_display = ["finished_at", "ok", "entries_checked", "blocks_checked", "triggered_by"]


@admin.register(Witness)
class WitnessAdmin(admin.ModelAdmin):
    list_display = ["name", "institution", "url", "active", "last_cosigned_size", "last_status"]
    list_filter = ["active", "institution"]
    readonly_fields = [
        "last_cosigned_size",
        "last_status",
        "last_status_code",
        "last_reason",
        "last_attempt_at",
        "consecutive_failures",
        "next_attempt_at",
    ]

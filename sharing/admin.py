from django.contrib import admin

from sharing.models import FileFetch, ShareFile, ShareQuery, ShareTable, SharingToken


@admin.register(ShareTable)
class ShareTableAdmin(admin.ModelAdmin):
    list_display = ("grant", "state", "version", "rows", "bytes", "ready_at")
    list_filter = ("state",)


@admin.register(ShareFile)
class ShareFileAdmin(admin.ModelAdmin):
    list_display = ("file_id", "table", "index", "rows", "size")


@admin.register(SharingToken)
class SharingTokenAdmin(admin.ModelAdmin):
    # The digest is never shown: it is all an attacker with the admin would need to look for.
    list_display = ("prefix", "user", "grant", "expires_at", "revoked_at", "last_used_at")
    exclude = ("digest",)


admin.site.register(ShareQuery)
admin.site.register(FileFetch)

"""Staff tooling: look up listings, versions and uploads (changes go through catalog.services)."""

from django.contrib import admin

from catalog.models import Dataset, DatasetUpload, DatasetVersion, Tag
from portal.admin import ReadOnlyAdmin


@admin.register(Dataset)
class DatasetAdmin(ReadOnlyAdmin):
    list_display = ["title", "institution", "category", "sensitivity", "status", "updated_at"]
    list_filter = ["status", "category", "sensitivity"]
    search_fields = ["title", "institution__name"]
    list_select_related = ["institution"]


@admin.register(DatasetVersion)
class DatasetVersionAdmin(ReadOnlyAdmin):
    list_display = ["dataset", "number", "row_count", "size_bytes", "created_at"]
    search_fields = ["dataset__title", "cid"]
    list_select_related = ["dataset"]


@admin.register(DatasetUpload)
class DatasetUploadAdmin(ReadOnlyAdmin):
    list_display = ["file_name", "institution", "state", "size_bytes", "created_at"]
    list_filter = ["state"]
    search_fields = ["file_name", "institution__name"]
    list_select_related = ["institution"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]

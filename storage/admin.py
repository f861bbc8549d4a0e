"""Storage in the Django admin: nodes, objects and events, to look at.

Changes go through the services (`manage.py storage_node`, the nodes API), which log them and
move shards; so node status and every object field are read-only here.
"""

from django.contrib import admin

from storage.models import StorageEvent, StorageNode, StoredObject, Table1Run


@admin.register(StorageNode)
class StorageNodeAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "status", "path", "bucket", "last_checked_at", "last_error"]
    list_filter = ["kind", "status"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False  # `manage.py storage_node add` creates the folder or bucket too


@admin.register(StoredObject)
class StoredObjectAdmin(admin.ModelAdmin):
    list_display = ["id", "cid", "size", "stored_size", "k", "m", "created_at"]
    search_fields = ["cid", "id"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(StorageEvent)
class StorageEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "object_id", "node", "stripe", "shard", "detail"]
    list_filter = ["kind"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(Table1Run)
class Table1RunAdmin(admin.ModelAdmin):
    list_display = ["created_at", "nodes", "trials", "seed"]

    def has_change_permission(self, request, obj=None):
        return False

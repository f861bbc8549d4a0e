from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        # SQLite's search index lives beside portal_dataset; a migration that rebuilds that
        # table drops its triggers, so they are checked after every migrate.
        post_migrate.connect(_search_index, sender=self, dispatch_uid="bizi-sqlite-search")


def _search_index(sender: AppConfig, using: str, **kwargs: Any) -> None:
    # Imported here: sqlite_search reads the models, which are not loaded when apps.py is.
    from catalog import sqlite_search

    if "portal_dataset" in connections[using].introspection.table_names():
        sqlite_search.install(connections[using])

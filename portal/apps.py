from typing import Any

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Consortium"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_migrate, post_save, pre_save

        from portal import cache_versions, signals

        # Saving or deleting a row of a cached section bumps its version (cache_versions.py).
        cache_versions.connect()
        # SQLite's search index lives beside portal_dataset; a migration that rebuilds that
        # table drops its triggers, so they are checked after every migrate.
        post_migrate.connect(_search_index, sender=self, dispatch_uid="bizi-sqlite-search")
        # A password change, reset or deactivation revokes the account's API tokens.
        user_model = get_user_model()
        pre_save.connect(signals.note_credentials, sender=user_model, dispatch_uid="bizi-tokens")
        post_save.connect(signals.revoke_tokens, sender=user_model, dispatch_uid="bizi-tokens")


def _search_index(sender: AppConfig, using: str, **kwargs: Any) -> None:
    from django.db import connections

    from portal.catalog import sqlite_search

    if "portal_dataset" in connections[using].introspection.table_names():
        sqlite_search.install(connections[using])

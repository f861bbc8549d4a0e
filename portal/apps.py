from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        # Imported here because the receivers read settings and the app registry, which are not
        # ready while apps.py is imported.
        from portal import cache_versions

        # Saving or deleting a row of a cached section bumps its version (cache_versions.py).
        cache_versions.connect()

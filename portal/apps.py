from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self) -> None:
        # Imported here because the generation hooks read settings and the ORM, which are not
        # ready while apps.py is imported.
        from django.db.backends.signals import connection_created

        from portal import generation

        # Every committed write starts a new cache generation (see portal/generation.py).
        connection_created.connect(generation.install, dispatch_uid="bizi-generation")

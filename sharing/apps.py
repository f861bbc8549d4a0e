from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Delta Sharing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: both modules read models, which are loaded only once apps are ready.
        from access import extensions
        from sharing import selectors, services

        # A new grant gets its share table, and a worker its files, after the approval commits.
        extensions.grant_approved.connect(
            services.share_for_new_grant, dispatch_uid="sharing-grant-approved"
        )
        extensions.register_grant_panel("sharing", selectors.grant_panel)

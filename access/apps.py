from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "access"
    verbose_name = "Access"

    def ready(self) -> None:
        # Imported here: selectors read models, which are loaded only once apps are ready.
        from access import selectors
        from consortium import home

        home.register(
            "access",
            order=10,
            sections=selectors.home_sections,
            valid_until=selectors.home_valid_until,
        )

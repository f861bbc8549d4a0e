from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards"

    def ready(self) -> None:
        # Imported here: selectors read models, which are loaded only once apps are ready.
        from consortium import home
        from dashboards import selectors

        home.register("dashboards", order=30, sections=selectors.home_sections)

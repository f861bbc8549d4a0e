from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.db.models.signals import pre_delete


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        # Imported here, not above: these import models, which are not loaded yet when Django
        # imports the app's configuration.
        from consortium import home
        from surveys import selectors
        from surveys.signals import user_pre_delete

        # Surveys waiting for a member's answer; the Table 2 card for managers and moderators.
        home.register(
            "surveys",
            order=20,
            sections=selectors.home_sections,
            valid_until=selectors.home_valid_until,
        )

        pre_delete.connect(
            user_pre_delete, sender=get_user_model(), dispatch_uid="surveys-user-pre-delete"
        )

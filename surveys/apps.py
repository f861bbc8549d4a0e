from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_delete

        from surveys.signals import user_pre_delete

        pre_delete.connect(
            user_pre_delete, sender=get_user_model(), dispatch_uid="surveys-user-pre-delete"
        )

from django.apps import AppConfig


class ConsortiumConfig(AppConfig):
    name = "consortium"
    verbose_name = "Consortium"

    def ready(self) -> None:
        # Signals are connected once the auth app's user model is loaded, which is only
        # guaranteed here (importing it at module level would load apps too early).
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save, pre_save

        # The receivers read the token model, loaded only once apps are ready.
        from consortium import signals

        # A password change, reset or deactivation revokes the account's API tokens.
        user_model = get_user_model()
        pre_save.connect(signals.note_credentials, sender=user_model, dispatch_uid="bizi-tokens")
        post_save.connect(signals.revoke_tokens, sender=user_model, dispatch_uid="bizi-tokens")

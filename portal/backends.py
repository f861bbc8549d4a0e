from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser


class ConsortiumBackend(ModelBackend):
    """The model backend, loading the user's membership and institution in the same query.

    Every page asks who the user is in the consortium (`permissions.actor_for`); joining here
    saves that query on each request.
    """

    def get_user(self, user_id: int) -> AbstractBaseUser | None:
        user = (
            get_user_model()
            ._default_manager.select_related("membership__institution")
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None

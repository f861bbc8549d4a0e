from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User

from portal import generation


class ConsortiumBackend(ModelBackend):
    """The model backend, loading the user's membership and institution in the same query.

    Every page asks who the user is in the consortium (`permissions.actor_for`); joining here
    saves that query on each request. The loaded user is cached under the data generation
    (portal/generation.py): a change of password, of `is_active` or of the membership is a
    write, so the next request loads the user afresh and signs out or refuses at once.
    """

    def get_user(self, user_id: int) -> User | None:
        gen = generation.current()
        key = f"bizi:user:{user_id}:{gen}"
        user = generation.cached(key) if gen is not None else None
        if not isinstance(user, get_user_model()) or str(user.pk) != str(user_id):
            user = (
                get_user_model()
                ._default_manager.select_related("membership__institution")
                .filter(pk=user_id)
                .first()
            )
            if user is not None and gen is not None:
                generation.store(key, user, 600)
        if user is not None:
            # The generation this request's reads are keyed by (portal/pagecache.py).
            user._bizi_generation = gen  # type: ignore[attr-defined]
        return user if user is not None and self.user_can_authenticate(user) else None

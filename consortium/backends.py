from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import User

from portal import cache_versions
from portal.permissions import actor_for

# Short, as a bound on a change made around the services and save() (portal/cache_versions.py).
USER_CACHE_SECONDS = 60


class ConsortiumBackend(ModelBackend):
    """The model backend, loading the user's membership and institution in the same query.

    Every page asks who the user is in the consortium (`permissions.actor_for`); joining here
    saves that query on each request. The loaded user is cached under the "consortium"
    section's version (portal/cache_versions.py): a change of password, of `is_active` or of the
    membership bumps it, so the next request loads the user afresh and signs out or refuses.
    """

    def get_user(self, user_id: int) -> User | None:
        full_key, user = cache_versions.lookup(["consortium"], f"user:{user_id}")
        if not isinstance(user, get_user_model()) or str(user.pk) != str(user_id):
            user = (
                get_user_model()
                ._default_manager.select_related("membership__institution")
                .filter(pk=user_id)
                .first()
            )
            if user is not None:
                actor_for(user)  # the roles too, so a cached user's requests need no query
                cache_versions.store(full_key, user, USER_CACHE_SECONDS)
        return user if user is not None and self.user_can_authenticate(user) else None

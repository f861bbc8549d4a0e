"""An account's API tokens end with its password or its access.

Any save of a user (the password change and reset forms, the admin, `set_password()` then
`save()` in code) that changes the password hash or turns `is_active` off revokes every live
token of that account, in the same transaction. Sessions need nothing here: Django ends them
when the password changes (the session's auth hash), and the backend refuses inactive users.
A deactivation made with `QuerySet.update()`, which sends no signal, is caught when the token
is next read from the database (consortium/authentication.py): at once after a bump of the
"consortium" cache section, within TOKEN_CACHE_SECONDS otherwise (portal/cache_versions.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from consortium.services import api_tokens_revoke_all

WATCHED = {"password", "is_active"}


def note_credentials(sender: type, instance: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """pre_save: remember whether this save ends the account's tokens."""
    instance._bizi_revoke_tokens = False
    if instance.pk is None or (update_fields is not None and not WATCHED & set(update_fields)):
        return  # a new account, or a save of other fields only (`last_login` at each sign-in)
    before = (
        get_user_model()
        ._default_manager.filter(pk=instance.pk)
        .values("password", "is_active")
        .first()
    )
    if before is None:
        return
    instance._bizi_revoke_tokens = before["password"] != instance.password or (
        before["is_active"] and not instance.is_active
    )


def revoke_tokens(sender: type, instance: Any, created: bool = False, **kwargs: Any) -> None:
    """post_save: revoke, if `note_credentials` said so."""
    if getattr(instance, "_bizi_revoke_tokens", False):
        api_tokens_revoke_all(user=instance)
        instance._bizi_revoke_tokens = False

"""State changes of the consortium: institutions, memberships, API tokens."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from consortium.models import ApiToken, Institution, Membership
from portal import cache_versions
from portal.errors import DomainError
from portal.permissions import Perm, require

TOKEN_PREFIX = "bizi_"  # noqa: S105 - a public marker that makes leaked tokens recognisable


def institution_create(*, name: str, kind: str, lei: str, slug: str) -> Institution:
    institution = Institution(name=name, kind=kind, lei=lei.strip().upper(), slug=slug)
    institution.full_clean()
    institution.save()
    return institution


@transaction.atomic
def membership_set_role(*, by: User, membership: Membership, role: str) -> Membership:
    """Change a member's role within their institution; only that institution's stewards may."""
    require(by, Perm.MEMBERSHIP_CHANGE, membership)
    if role not in Membership.Role.values:
        raise DomainError(
            f"“{role}” is not a role; choose one of: {', '.join(Membership.Role.values)}.",
            field="role",
        )
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    locked.role = role
    locked.save(update_fields=["role"])
    return locked


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_issue(
    *, user: User, name: str = "", ttl: timedelta | None = None
) -> tuple[ApiToken, str]:
    """Create a token and return it with its secret. The secret is shown once, never stored."""
    if not user.is_active:
        raise DomainError("This account is disabled.", code="inactive")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ttl = ttl or timedelta(hours=settings.API_TOKEN_TTL_HOURS)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        digest=token_digest(secret),
        expires_at=timezone.now() + ttl,
    )
    return token, secret


def api_token_revoke(*, token: ApiToken) -> None:
    # A conditional update: revoking twice keeps the first revocation time.
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    cache_versions.bump("consortium")


def api_tokens_revoke_all(*, user: User) -> int:
    """Revoke every live token of an account (its password changed, or it was disabled)."""
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    cache_versions.bump("consortium")
    return revoked


def api_token_touch(*, token: ApiToken) -> bool:
    """Note a token's use, at most once a minute so reads do not turn into a write each.

    True if it wrote (and set `token.last_used_at`). The time of last use is on no cached page
    (the tokens page is never cached), so this write bumps no section: using the API does not
    empty the cache.
    """
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at <= timedelta(minutes=1):
        return False
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
    return True

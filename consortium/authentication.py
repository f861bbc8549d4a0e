"""API token authentication: `Authorization: Bearer <token>`, looked up by its SHA-256."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from consortium.models import ApiToken
from consortium.services import api_token_revoke, api_token_touch, token_digest
from portal import cache_versions
from portal.permissions import actor_for


class HashedTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[object, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in (b"bearer", b"token"):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the token as: Authorization: Bearer <token>."
            )
        try:
            secret = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                "The token has characters a token never has."
            ) from None
        full_key, token = _token_for(token_digest(secret))
        if token is None:
            raise exceptions.AuthenticationFailed("Unknown token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token was revoked.")
        if token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed("This token has expired; ask for a new one.")
        if not token.user.is_active:
            # Disabled without a save (QuerySet.update): the token ends now, for good.
            api_token_revoke(token=token)
            raise exceptions.AuthenticationFailed("This account is disabled.")
        if api_token_touch(token=token):
            # Keep the cached copy's time of last use, or every request would touch again.
            cache_versions.store(full_key, token, TOKEN_CACHE_SECONDS)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


# Short, as a bound on a change made around the services and save() (portal/cache_versions.py).
TOKEN_CACHE_SECONDS = 60


def _token_for(digest: str) -> tuple[str | None, ApiToken | None]:
    """(the key it is cached under, the token with its user, membership and roles).

    Cached under the "consortium" section's version (portal/cache_versions.py): revoking a
    token, disabling its user or changing their roles bumps it, so the next request reads the
    token afresh and is refused at once; expiry is checked against the clock on every request.
    Unknown tokens are not cached. The cache holds the token's digest, as the database does,
    never the secret.
    """
    full_key, token = cache_versions.lookup(["consortium"], f"token:{digest}")
    if isinstance(token, ApiToken) and token.digest == digest:
        return full_key, token
    token = (
        ApiToken.objects.select_related("user__membership__institution")
        .filter(digest=digest)
        .first()
    )
    if token is not None:
        actor_for(token.user)  # the roles too, so a cached token's requests need no query
        cache_versions.store(full_key, token, TOKEN_CACHE_SECONDS)
    return full_key, token


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """Describes the token scheme in the OpenAPI document, so clients know how to send it."""

    target_class = "consortium.authentication.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from POST /api/v1/auth/token/, sent as `Bearer <token>`.",
        }

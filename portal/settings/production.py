"""Production settings: the shared settings of `portal.settings.base`, hardened.

Use with `DJANGO_SETTINGS_MODULE=portal.settings.production`.

Secrets have no defaults here: a missing SECRET_KEY or DATABASE_URL stops the server at start
instead of running with a demo value; so does a missing CACHE_URL (the cache every process
shares) or one that names the broker's Redis database. Each secret may instead be in a file
named by `<NAME>_FILE` (`secret()` in env.py). `manage.py check --deploy` is clean with these
settings.
"""

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.http.request import validate_host

from portal.settings.base import *  # noqa: F403 - production extends the base settings wholesale
from portal.settings.base import cache_is_shared
from portal.settings.env import env, secret


def _redis_database(url: str) -> tuple[str, int, str] | None:
    """(host, port, database index) of a Redis URL, or None for anything else."""
    parts = urlsplit(url)
    if not parts.scheme.startswith(("redis", "valkey")):
        return None
    return (parts.hostname or "", parts.port or 6379, parts.path.strip("/") or "0")


SECRET_KEY = secret("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": env.db_url_config(secret("DATABASE_URL"))}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# SECURE_PROXY_SSL_HEADER: only with BIZI_TRUSTED_PROXIES (security.py); a proxy that
# terminates TLS must be declared there, or SECURE_SSL_REDIRECT loops.
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Production needs a real broker: the filesystem transport is a single-machine demo aid.
REDIS_URL = secret("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
# The cache every web process and worker shares: sessions, and what is cached under section
# versions (portal/cache_versions.py). Its own Redis database, never the broker's: emptying one
# (a test's cache.clear(), a purge) must not empty the other.
CACHES = {"default": env.cache_url_config(secret("CACHE_URL"))}
if _redis_database(CACHES["default"].get("LOCATION", "")) == _redis_database(REDIS_URL):
    raise ImproperlyConfigured(
        "CACHE_URL must not be the broker's Redis database (REDIS_URL): "
        "use another database index, e.g. rediscache://host:6379/1 beside redis://host:6379/0."
    )
BIZI_PAGE_CACHE = env.bool("BIZI_PAGE_CACHE", default=cache_is_shared(CACHES))

WHITENOISE_USE_FINDERS = False

BIZI_PRODUCTION = True

# Links in e-mails: the address people use, over HTTPS, on a host the portal answers to.
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL")
_base = urlsplit(PORTAL_BASE_URL)
if _base.scheme != "https" or not _base.hostname or _base.query or _base.fragment:
    raise ImproperlyConfigured(
        f"PORTAL_BASE_URL must be the portal's https:// address (got {PORTAL_BASE_URL!r})."
    )
if not validate_host(_base.hostname, ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        f"PORTAL_BASE_URL's host {_base.hostname} is not in ALLOWED_HOSTS: mailed links would fail."
    )

# The log's signing key must be provided; production never generates one on its own.
if not LEDGER_SIGNING_KEY and not Path(LEDGER_SIGNING_KEY_FILE).exists():  # noqa: F405
    raise ImproperlyConfigured("Set LEDGER_SIGNING_KEY or LEDGER_SIGNING_KEY_FILE.")

# Witnesses: https only, and no loopback or private address unless the operator lists it.
LEDGER_WITNESS_ALLOW_HTTP = env.bool("LEDGER_WITNESS_ALLOW_HTTP", default=False)
LEDGER_WITNESS_ALLOWED_NETWORKS = env.list("LEDGER_WITNESS_ALLOWED_NETWORKS", default=[])
for _network in LEDGER_WITNESS_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"LEDGER_WITNESS_ALLOWED_NETWORKS: {_exc}") from None

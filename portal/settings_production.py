"""Production settings: the defaults of `portal.settings`, hardened.

Secrets have no defaults here: a missing SECRET_KEY or DATABASE_URL stops the server at start
instead of running with a demo value. `manage.py check --deploy` is clean with these settings.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from portal.settings import *  # noqa: F403 - production extends the base settings wholesale
from portal.settings import env

SECRET_KEY = env.str("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
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
REDIS_URL = env.str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}

WHITENOISE_USE_FINDERS = False

BIZI_PRODUCTION = True

# The log's signing key must be provided; production never generates one on its own.
LEDGER_SIGNING_KEY = env.str("LEDGER_SIGNING_KEY", default="")
if not LEDGER_SIGNING_KEY and not Path(LEDGER_SIGNING_KEY_FILE).exists():  # noqa: F405
    raise ImproperlyConfigured("Set LEDGER_SIGNING_KEY or LEDGER_SIGNING_KEY_FILE.")

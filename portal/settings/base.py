"""The settings every environment shares, with defaults that make the embedded demo work
with nothing installed: SQLite under `var/`, a Celery broker on the local filesystem, e-mail
printed to the console.

This is the development default: `manage.py`, `make run`, the Celery app and `portal/wsgi.py`
use it unless DJANGO_SETTINGS_MODULE says otherwise. A real deployment sets
`DJANGO_SETTINGS_MODULE=portal.settings.production`, which refuses to start without the
secrets it needs; pytest uses `portal.settings.test`. The larger groups have a module each,
imported here (security, api, celery, ledger, storage, catalog); every variable is listed
in the README.
"""

# Each larger group of settings has its module, named for what it configures.
from pathlib import Path

from portal.settings.api import *  # noqa: F403
from portal.settings.catalog import *  # noqa: F403
from portal.settings.celery import *  # noqa: F403
from portal.settings.celery import REDIS_URL
from portal.settings.env import BASE_DIR, VAR_DIR, env, secret
from portal.settings.ledger import *  # noqa: F403
from portal.settings.security import *  # noqa: F403
from portal.settings.storage import *  # noqa: F403

# The demo key is only ever used outside production; production settings demand SECRET_KEY.
SECRET_KEY = secret("SECRET_KEY", default="bizi-insecure-development-key-never-in-production")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "portal",
    "consortium",
    "catalog",
    "access",
    "dashboards",
    "ledger",
    "storage",
    "surveys",
    "sharing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a sign-in refused by the lockout into its 429 (portal/lockout.py).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url_config(
        secret("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'bizi.sqlite3'}")
    ),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's, making the file's folder when it first connects (portal/sqlite3/).
    DATABASES["default"]["ENGINE"] = "portal.sqlite3"
    # WAL lets the web server read while the worker writes; the timeout rides out short
    # write locks instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The lockout's check first: a locked-out username or address goes no further.
AUTHENTICATION_BACKENDS = ["portal.lockout.LockoutBackend", "consortium.backends.ConsortiumBackend"]
# Sessions are read from the cache and written through to the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Made by collectstatic (`make run` runs it).
STATIC_ROOT: Path | None = VAR_DIR / "static"
# The demo serves static files straight from the source folders, so it works before (or
# without) collectstatic; production serves only the collected, hashed copies.
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"

# E-mail: printed to the console unless a real server is configured.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = secret("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="BIZi portal <noreply@bizi.invalid>")
# The portal's address as people reach it: e-mails link to pages under it (a mail has no
# request to take a host from, and the Celery worker sends most of them).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

# One cache shared by every process (web workers, Celery): cached pages are keyed by section
# versions that any process's change bumps (portal/cache_versions.py). The embedded default is
# a folder under var/; deployments use Redis on a database index the broker does not use, e.g.
# CACHE_URL=rediscache://127.0.0.1:6379/1 beside REDIS_URL=redis://127.0.0.1:6379/0.
CACHES = {
    "default": env.cache_url_config(secret("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}"))
}


def cache_is_shared(caches: dict) -> bool:
    """False for a per-process cache (locmem, dummy), which cannot see other processes' writes."""
    return caches["default"]["BACKEND"].rsplit(".", 1)[-1] not in {"LocMemCache", "DummyCache"}


# Pages, users and tokens are cached only in a shared cache, unless told the process is alone
# (the tests).
BIZI_PAGE_CACHE = env.bool("BIZI_PAGE_CACHE", default=cache_is_shared(CACHES))

# --- Demo -----------------------------------------------------------------------------------
DEMO_PASSWORD = secret("DEMO_PASSWORD", default="bizi-demo-2026")
BIZI_PRODUCTION = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The lockout's failures and lockouts are warnings; its bookkeeping is not news.
        "axes": {"level": "WARNING"},
        # The filesystem broker has no host; kombu warns about that on every connection.
        "kombu.connection": {"level": "ERROR" if not REDIS_URL else "WARNING"},
    },
}

# --- Surveys ---
# plotly.js is served from the installed plotly package (surveys/staticfiles.py): no CDN, no
# copy step, and the browser's plotly.js is always the one the Python package drew the charts for.
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "surveys.staticfiles.PlotlyJsFinder",
]
# No group of fewer answers is shown on its own: a privacy rule, so not read from the environment.
SURVEY_MIN_GROUP = 5
# A rebuild runs this long after the answer that queued it; the burst's later answers share it.
SURVEY_REBUILD_DELAY_SECONDS = env.float("SURVEY_REBUILD_DELAY_SECONDS", default=2.0)
# A queued rebuild not started after this long is presumed lost; the next answer queues another.
SURVEY_REBUILD_CLAIM_SECONDS = env.float("SURVEY_REBUILD_CLAIM_SECONDS", default=60.0)
# How often beat rebuilds stale snapshots, so a lost task heals by itself.
SURVEY_STALE_CHECK_SECONDS = env.float("SURVEY_STALE_CHECK_SECONDS", default=60.0)
# How many of the latest free-text answers a snapshot keeps (the dashboard says how many in all).
SURVEY_SNAPSHOT_TEXTS = env.int("SURVEY_SNAPSHOT_TEXTS", default=200)

# --- Access ---
# The longest grant a request may ask for, in days.
ACCESS_MAX_DAYS = env.int("ACCESS_MAX_DAYS", default=365)
# A purpose shorter than this says nothing a steward can judge.
ACCESS_PURPOSE_MIN_CHARS = env.int("ACCESS_PURPOSE_MIN_CHARS", default=20)
# How often beat expires grants whose time has passed.
ACCESS_EXPIRE_SECONDS = env.float("ACCESS_EXPIRE_SECONDS", default=60.0)
# CSV bytes per chunk a download's threads parse at once (memory holds a few chunks).
ACCESS_DOWNLOAD_BLOCK_BYTES = env.int("ACCESS_DOWNLOAD_BLOCK_BYTES", default=2 * 1024 * 1024)
# Hex characters kept of a pseudonym (HMAC-SHA-256 under the grant's key).
ACCESS_PSEUDONYM_CHARS = env.int("ACCESS_PSEUDONYM_CHARS", default=16)

# --- Delta Sharing (sharing/) ---------------------------------------------------------------
# A share's Parquet files hold at most about this many bytes each, so clients fetch in parallel.
SHARING_FILE_BYTES = env.int("SHARING_FILE_BYTES", default=128 * 1024 * 1024)
# How long a signed file URL a query hands out stays good.
SHARING_URL_SECONDS = env.int("SHARING_URL_SECONDS", default=300)
# A recipient token's life, capped by its grant's.
SHARING_TOKEN_DAYS = env.int("SHARING_TOKEN_DAYS", default=90)
# The longest life of a bearer token an OAuth client obtains at the token endpoint.
SHARING_OAUTH_TOKEN_SECONDS = env.int("SHARING_OAUTH_TOKEN_SECONDS", default=3600)
# How often beat queues the share files still missing.
SHARING_SWEEP_SECONDS = env.int("SHARING_SWEEP_SECONDS", default=300)
# The protocol's base URL in profiles and file URLs; empty: PORTAL_BASE_URL.
SHARING_BASE_URL = env.str("SHARING_BASE_URL", default="") or PORTAL_BASE_URL

# --- Dashboards ---
# How often beat rebuilds the shared snapshot of each dashboard's unfiltered view; pages ignore
# a snapshot ten times older than this (beat or the worker is down) and compute their own.
DASHBOARD_SNAPSHOT_SECONDS = env.float("DASHBOARD_SNAPSHOT_SECONDS", default=60.0)

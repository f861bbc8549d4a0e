"""Settings of the BIZi portal, read from the environment.

Defaults make the embedded demo work with nothing installed: SQLite under `var/`, a Celery
broker on the local filesystem, e-mail printed to the console. A real deployment sets
`DJANGO_SETTINGS_MODULE=portal.settings_production`, which refuses to start without the
secrets it needs. Every variable is listed in the README.
"""

from datetime import timedelta
from pathlib import Path

import environ

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent
# Everything the portal writes at run time (SQLite, keys, shards, broker folders) lives here.
VAR_DIR = Path(env.str("BIZI_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# The demo key is only ever used outside production; production settings demand SECRET_KEY.
SECRET_KEY = env.str("SECRET_KEY", default="bizi-insecure-development-key-never-in-production")
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

ROOT_URLCONF = env.str("BIZI_ROOT_URLCONF", default="portal.urls")
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
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'bizi.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
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
    # Tests that start a worker process need a database file both processes can open.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-bizi.sqlite3")}
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
AUTHENTICATION_BACKENDS = ["portal.lockout.LockoutBackend", "portal.backends.ConsortiumBackend"]
# Sessions are read from the cache and written through to the database.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Session security: bank staff share machines; sessions end with the browser and after a
# working day at most.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): scripts, styles, fonts and fetches from our own origin
# only, no inline script or style, no plugins, no framing, forms post only to us. Chart data
# travels in `json_script` blocks (type application/json, never executed). The Swagger UI view
# adds `data:` images on top (portal/urls.py), and nothing else.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Proxies, lockout and rate limits -------------------------------------------------------
# How many reverse proxies of ours stand in front of the portal, each appending to
# X-Forwarded-For. 0 (the default): the header is not believed, the client is REMOTE_ADDR, and
# X-Forwarded-Proto is not believed either. One rule for the throttles, the lockout and the reset
# limits (portal/clientip.py).
BIZI_TRUSTED_PROXIES = env.int("BIZI_TRUSTED_PROXIES", default=0)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BIZI_TRUSTED_PROXIES else None
# django-axes: failed sign-ins on the sign-in page, the admin and the token endpoint, counted
# per username and per address; at the limit either is refused for the cool-off.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "portal.clientip.client_ip"
AXES_LOCKOUT_CALLABLE = "portal.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# Password reset e-mails per client address and per e-mail address, per window.
PASSWORD_RESET_LIMIT_PER_ADDRESS = env.int("PASSWORD_RESET_LIMIT_PER_ADDRESS", default=10)
PASSWORD_RESET_LIMIT_PER_EMAIL = env.int("PASSWORD_RESET_LIMIT_PER_EMAIL", default=3)
PASSWORD_RESET_WINDOW_SECONDS = env.int("PASSWORD_RESET_WINDOW_SECONDS", default=3600)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
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
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="BIZi portal <noreply@bizi.invalid>")
# The portal's address as people reach it: e-mails link to pages under it (a mail has no
# request to take a host from, and the Celery worker sends most of them).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

# One cache shared by every process (web workers, Celery): cached pages are keyed by section
# versions that any process's change bumps (portal/cache_versions.py). The embedded default is
# a folder under var/; deployments use Redis on a database index the broker does not use, e.g.
# CACHE_URL=rediscache://127.0.0.1:6379/1 beside REDIS_URL=redis://127.0.0.1:6379/0.
CACHES = {"default": env.cache_url("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}


def cache_is_shared(caches: dict) -> bool:
    """False for a per-process cache (locmem, dummy), which cannot see other processes' writes."""
    return caches["default"]["BACKEND"].rsplit(".", 1)[-1] not in {"LocMemCache", "DummyCache"}


# Pages, users and tokens are cached only in a shared cache, unless told the process is alone
# (the tests).
BIZI_PAGE_CACHE = env.bool("BIZI_PAGE_CACHE", default=cache_is_shared(CACHES))

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Deny by default: a view that wants less must say so.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # X-Forwarded-For is believed only this far (see BIZI_TRUSTED_PROXIES).
    "NUM_PROXIES": BIZI_TRUSTED_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "BIZi portal API",
    "DESCRIPTION": "Publish, request and prove access to consortium datasets.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status`; give each choice set its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "DatasetStatusEnum": "portal.models.catalog.Dataset.Status",
        "StorageNodeStatusEnum": "storage.models.StorageNode.Status",
        "AccessRequestStateEnum": "portal.models.access.AccessRequest.State",
        "DatasetUploadStateEnum": "portal.models.catalog.DatasetUpload.State",
    },
}
API_TOKEN_TTL_HOURS = env.int("API_TOKEN_TTL_HOURS", default=24 * 30)

# --- Celery ---------------------------------------------------------------------------------
# Without REDIS_URL the broker is a folder on disk, so `make run` needs no server.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    _broker_dir = VAR_DIR / "celery-broker"
    _broker_dir.mkdir(exist_ok=True)
    (VAR_DIR / "celery-processed").mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        # Broadcasts (worker pings) would otherwise land in ./control of whatever folder.
        "control_folder": str(VAR_DIR / "celery-control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing must fail fast when the broker is down: the event waits in the outbox instead.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
HEARTBEAT_INTERVAL_SECONDS = env.int("HEARTBEAT_INTERVAL_SECONDS", default=15)

# --- Demo -----------------------------------------------------------------------------------
DEMO_PASSWORD = env.str("DEMO_PASSWORD", default="bizi-demo-2026")
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

# --- Ledger ---------------------------------------------------------------------------------
# The checkpoint origin: a name for this log that no other log uses (C2SP tlog-checkpoint).
LEDGER_ORIGIN = env.str("LEDGER_ORIGIN", default="bizi.invalid/ledger")
# The log's Ed25519 key as a note signer key (PRIVATE+KEY+origin+id+key), or a file holding one.
# Outside production a missing key file is created on first use.
LEDGER_SIGNING_KEY = env.str("LEDGER_SIGNING_KEY", default="")
LEDGER_SIGNING_KEY_FILE = env.str(
    "LEDGER_SIGNING_KEY_FILE", default=str(VAR_DIR / "ledger-signing.key")
)
LEDGER_APPEND_BATCH = env.int("LEDGER_APPEND_BATCH", default=2000)
LEDGER_BLOCK_MAX_ENTRIES = env.int("LEDGER_BLOCK_MAX_ENTRIES", default=1000)
LEDGER_BLOCK_MAX_SECONDS = env.float("LEDGER_BLOCK_MAX_SECONDS", default=10.0)
# How often beat re-sends events still in the outbox (recorded while Redis or the worker was down).
LEDGER_RESEND_SECONDS = env.float("LEDGER_RESEND_SECONDS", default=10.0)
LEDGER_VERIFY_SECONDS = env.float("LEDGER_VERIFY_SECONDS", default=3600.0)
# How many institutions' witnesses must cosign a checkpoint (the tlog-policy quorum).
LEDGER_WITNESS_QUORUM = env.int("LEDGER_WITNESS_QUORUM", default=1)
# Witnesses (ledger/witness_client.py): plain http only outside production; loopback, private,
# link-local and reserved addresses only where listed (CIDRs; the dev machine's own witness).
LEDGER_WITNESS_ALLOW_HTTP = env.bool("LEDGER_WITNESS_ALLOW_HTTP", default=True)
LEDGER_WITNESS_ALLOWED_NETWORKS = env.list(
    "LEDGER_WITNESS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"]
)
LEDGER_WITNESS_CONNECT_TIMEOUT_SECONDS = env.float(
    "LEDGER_WITNESS_CONNECT_TIMEOUT_SECONDS", default=3.0
)
# The read timeout of one witness call.
LEDGER_WITNESS_TIMEOUT_SECONDS = env.float("LEDGER_WITNESS_TIMEOUT_SECONDS", default=10.0)
# All witnesses of a block are asked at once (this many threads), and all within this deadline.
LEDGER_WITNESS_THREADS = env.int("LEDGER_WITNESS_THREADS", default=8)
LEDGER_WITNESS_DEADLINE_SECONDS = env.float("LEDGER_WITNESS_DEADLINE_SECONDS", default=15.0)
# A witness that failed waits this long before it is asked again, doubled per further failure.
LEDGER_WITNESS_BACKOFF_SECONDS = env.float("LEDGER_WITNESS_BACKOFF_SECONDS", default=30.0)
LEDGER_WITNESS_BACKOFF_MAX_SECONDS = env.float("LEDGER_WITNESS_BACKOFF_MAX_SECONDS", default=3600.0)

# --- Catalog ---
CATALOG_MAX_UPLOAD_BYTES = env.int("CATALOG_MAX_UPLOAD_BYTES", default=2 * 1024**3)
# Files up to this size are checked and stored while the request waits (a bad one gets its
# problems at once); larger ones go to a Celery task and the page shows its progress.
CATALOG_SYNC_BYTES = env.int("CATALOG_SYNC_BYTES", default=16 * 1024**2)
CATALOG_MAX_COLUMNS = env.int("CATALOG_MAX_COLUMNS", default=1000)
CATALOG_PREVIEW_ROWS = env.int("CATALOG_PREVIEW_ROWS", default=10)
# The guard refuses a file before Django's handlers see a byte of it: from someone who may not
# upload it there, or past CATALOG_MAX_UPLOAD_BYTES (portal/catalog/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "portal.catalog.uploads.GuardedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# A body without files (JSON, a form) is read into memory: at most this many bytes (413 past it).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024**2)
# Uploads stream to disk here (never held whole in memory), then move to var/uploads/.
FILE_UPLOAD_TEMP_DIR = str(VAR_DIR / "tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(exist_ok=True)
# How often beat queues the Arrow copies of versions that have none yet (portal.catalog.tasks).
CATALOG_ARROW_SWEEP_SECONDS = env.int("CATALOG_ARROW_SWEEP_SECONDS", default=300)
CATALOG_UPLOAD_DIR = VAR_DIR / "uploads"
CATALOG_UPLOAD_DIR.mkdir(exist_ok=True)

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

# --- Storage ---
# The master key wrapping every object's data key: 32 bytes as base64 or 64 hex digits, or a
# file holding one. Outside production a missing file is generated (mode 0600); production
# refuses to store or read without a key (storage/keys.py).
STORAGE_MASTER_KEY = env.str("STORAGE_MASTER_KEY", default="")
STORAGE_MASTER_KEY_FILE = env.str(
    "STORAGE_MASTER_KEY_FILE", default=str(VAR_DIR / "storage-master.key")
)
# Keys still accepted for unwrapping while `manage.py storage_rewrap` moves to a new one.
STORAGE_OLD_MASTER_KEYS = env.list("STORAGE_OLD_MASTER_KEYS", default=[])
# The new master key for `storage_rewrap` (or pass --new-key-file).
STORAGE_NEW_MASTER_KEY = env.str("STORAGE_NEW_MASTER_KEY", default="")
# Keys other apps wrap under the master key: `storage_rewrap` calls each of these functions
# (keyring=, new_key=) in its transaction, so storage/ need not import them.
STORAGE_REWRAP_HOOKS = ["portal.access.keys.grant_keys_rewrap"]
# With no node registered, the first put registers this many local folders under this root.
STORAGE_NODE_ROOT = env.str("STORAGE_NODE_ROOT", default=str(VAR_DIR / "storage-nodes"))
STORAGE_LOCAL_NODES = env.int("STORAGE_LOCAL_NODES", default=8)
# The default code: k data + m parity shards per stripe, each shard on its own node.
STORAGE_K = env.int("STORAGE_K", default=4)
STORAGE_M = env.int("STORAGE_M", default=2)
# Encoded bytes per stripe; 0 is the code's own size (10 MiB for k=4), within 1 % of MDS overhead.
STORAGE_STRIPE_BYTES = env.int("STORAGE_STRIPE_BYTES", default=0)
# fsync every shard before a put returns (a put is durable when it says so).
STORAGE_FSYNC = env.bool("STORAGE_FSYNC", default=True)
# Threads per process for hashing, encryption and node I/O (all release the GIL); 0: one a core.
STORAGE_THREADS = env.int("STORAGE_THREADS", default=0)
STORAGE_SCRUB_SECONDS = env.float("STORAGE_SCRUB_SECONDS", default=24 * 3600.0)
# How often beat rebuilds shards recorded bad (repairs whose message was lost, nodes marked down).
STORAGE_REPAIR_SECONDS = env.float("STORAGE_REPAIR_SECONDS", default=300.0)
# Shard files no row points at are deleted by the scrub once this old (puts in flight are younger).
STORAGE_ORPHAN_GRACE_SECONDS = env.float("STORAGE_ORPHAN_GRACE_SECONDS", default=3600.0)

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

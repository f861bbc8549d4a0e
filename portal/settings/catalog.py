"""The catalog's uploads: size limits, the upload guard, and where files wait on disk."""

from portal.settings.env import VAR_DIR, env

CATALOG_MAX_UPLOAD_BYTES = env.int("CATALOG_MAX_UPLOAD_BYTES", default=2 * 1024**3)
# Files up to this size are checked and stored while the request waits (a bad one gets its
# problems at once); larger ones go to a Celery task and the page shows its progress.
CATALOG_SYNC_BYTES = env.int("CATALOG_SYNC_BYTES", default=16 * 1024**2)
CATALOG_MAX_COLUMNS = env.int("CATALOG_MAX_COLUMNS", default=1000)
CATALOG_PREVIEW_ROWS = env.int("CATALOG_PREVIEW_ROWS", default=10)
# The guard refuses a file before Django's handlers see a byte of it: from someone who may not
# upload it there, or past CATALOG_MAX_UPLOAD_BYTES (catalog/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "catalog.uploads.GuardedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
# A body without files (JSON, a form) is read into memory: at most this many bytes (413 past it).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024**2)
# Uploads stream to disk here (never held whole in memory), then move to var/uploads/.
# The upload guard (GuardedUploadHandler above) makes the folder when a file first arrives, so
# Django's check that it exists before the first request (files.E001) does not apply.
FILE_UPLOAD_TEMP_DIR = str(VAR_DIR / "tmp")
SILENCED_SYSTEM_CHECKS = ["files.E001"]
# How often beat queues the Arrow copies of versions that have none yet (catalog.tasks).
CATALOG_ARROW_SWEEP_SECONDS = env.int("CATALOG_ARROW_SWEEP_SECONDS", default=300)
# How often beat sends again the uploads still `received` (the broker was down when they came)
# or stuck `checking` with no progress (their worker died).
CATALOG_UPLOAD_RESEND_SECONDS = env.float("CATALOG_UPLOAD_RESEND_SECONDS", default=60.0)
CATALOG_UPLOAD_DIR = VAR_DIR / "uploads"

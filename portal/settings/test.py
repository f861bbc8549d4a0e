"""Settings of the test suite: `portal.settings.base` plus what only tests want.

pytest uses it (pyproject.toml); so do the Celery worker processes the suite starts, which
inherit DJANGO_SETTINGS_MODULE.
"""

from portal.settings.base import *  # noqa: F403 - the tests run the shared settings
from portal.settings.base import DATABASES
from portal.settings.env import VAR_DIR

# Hashing demo passwords with the production hasher would dominate the suite's run time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "portal.sqlite3":
    # Tests that start a worker process need a database file both processes can open (Django
    # would test SQLite in memory).
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-bizi.sqlite3")}

# Tests serve static files through the finders (WHITENOISE_USE_FINDERS) and never collect them:
# without a STATIC_ROOT, WhiteNoise does not warn about a folder no collectstatic has made.
STATIC_ROOT = None

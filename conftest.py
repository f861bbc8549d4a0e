"""Suite-wide fixtures and the rule for tests that need a service.

Tests marked `postgres`, `celery` or `browser` need PostgreSQL, Redis or Chromium. Where one is
missing they are skipped with a reason that `-ra` prints at the end; under `CI=true` a missing
service stops the run instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("BIZI_CHROMIUM", "/usr/bin/chromium")


def _missing_services() -> dict[str, str]:
    missing = {}
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing["postgres"] = "PostgreSQL is not configured (set DATABASE_URL=postgres://…)"
    if not os.environ.get("REDIS_URL"):
        missing["celery"] = "Redis is not configured (set REDIS_URL=redis://…)"
    if not Path(CHROMIUM).exists():
        missing["browser"] = f"Chromium is not installed at {CHROMIUM}"
    elif not _has_playwright():
        missing["browser"] = "the playwright package is not installed"
    return missing


def _has_playwright() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = _missing_services()
    needed = {m for item in items for m in missing if item.get_closest_marker(m)}
    if needed and os.environ.get("CI") == "true":
        reasons = "; ".join(missing[m] for m in sorted(needed))
        raise pytest.UsageError(f"CI=true and a service the tests need is missing: {reasons}")
    for item in items:
        for marker, reason in missing.items():
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=f"skipped: {reason}"))


@pytest.fixture(autouse=True)
def _fast_passwords(settings: pytest.FixtureRequest) -> None:
    # Hashing demo passwords with the production hasher would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

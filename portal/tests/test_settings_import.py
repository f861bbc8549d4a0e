"""Importing the settings creates nothing; the folders under var/ appear where first used."""

import subprocess
import sys
from pathlib import Path

import pytest

from portal.tests.test_deploy_settings import PRODUCTION, clean_environment

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = clean_environment(drop_prefixes=("DJANGO_", "BIZI_"))
    full_env.update(env)
    return subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True
    )


@pytest.mark.parametrize("module", ["base", "test", "production"])
def test_importing_the_settings_creates_no_folder(tmp_path, module):
    var_dir = tmp_path / "var"
    env = dict(PRODUCTION) if module == "production" else {}
    env.update(DJANGO_SETTINGS_MODULE=f"portal.settings.{module}", BIZI_VAR_DIR=str(var_dir))
    result = _python("import django; django.setup()", **env)
    assert result.returncode == 0, result.stderr
    assert not var_dir.exists()


def test_sqlite_and_the_celery_app_make_their_folders_when_first_used(tmp_path):
    var_dir = tmp_path / "var"
    code = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "connection.ensure_connection()\n"
        "from portal.celery import app\n"
        "app.conf.broker_url\n"
    )
    result = _python(code, DJANGO_SETTINGS_MODULE="portal.settings.base", BIZI_VAR_DIR=str(var_dir))
    assert result.returncode == 0, result.stderr
    made = {p.name for p in var_dir.iterdir()}
    assert {"bizi.sqlite3", "celery-broker", "celery-control", "celery-processed"} <= made

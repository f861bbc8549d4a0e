import os
import subprocess
import sys
from pathlib import Path

from ledger.notes import generate_signer

ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    full_env.update(env)
    return subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True, text=True
    )


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-0123456789",
    "ALLOWED_HOSTS": "bizi.example.org",
    "PORTAL_BASE_URL": "https://bizi.example.org",
    "DATABASE_URL": "postgres://bizi@127.0.0.1:5432/bizi",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "rediscache://127.0.0.1:6379/1",
    "LEDGER_ORIGIN": "bizi.example.org/ledger",
    "LEDGER_SIGNING_KEY": generate_signer("bizi.example.org/ledger").to_skey(),
}


def test_check_deploy_is_clean_under_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_the_brokers_redis_database_as_its_cache():
    result = _manage("check", **{**PRODUCTION, "CACHE_URL": "rediscache://127.0.0.1:6379/0"})
    assert result.returncode != 0
    assert "CACHE_URL must not be the broker's Redis database" in result.stderr
    result = _manage("check", **{k: v for k, v in PRODUCTION.items() if k != "CACHE_URL"})
    assert result.returncode != 0 and "CACHE_URL" in result.stderr


def test_production_refuses_to_start_without_the_ledger_key(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "LEDGER_SIGNING_KEY"}
    env["LEDGER_SIGNING_KEY_FILE"] = str(tmp_path / "absent.key")
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "LEDGER_SIGNING_KEY" in result.stderr

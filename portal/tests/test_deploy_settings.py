import os
import subprocess
import sys
from pathlib import Path

from ledger.notes import generate_signer

ROOT = Path(__file__).resolve().parents[2]


# The services CI points the suite at: a child process must see only what its test sets.
SERVICES = ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "SECRET_KEY", "EMAIL_HOST_PASSWORD")


def clean_environment(*, drop_prefixes: tuple[str, ...] = ("DJANGO_",)) -> dict[str, str]:
    """This process's environment without settings modules and services (each also as
    NAME_FILE), so a test of settings reads exactly the variables it passes."""
    services = {*SERVICES, *(f"{name}_FILE" for name in SERVICES)}
    return {
        k: v for k, v in os.environ.items() if not k.startswith(drop_prefixes) and k not in services
    }


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    full_env = clean_environment()
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


def test_production_reads_every_secret_from_its_file(tmp_path):
    # Docker and Kubernetes secrets: a file per secret, usually ending in a newline.
    secrets = {
        name: PRODUCTION[name] for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CACHE_URL")
    }
    secrets["DATABASE_URL"] = "postgres://bizi:pass%23word@127.0.0.1:5432/bizi"
    secrets["EMAIL_HOST_PASSWORD"] = "mail-pass"
    env = {k: v for k, v in PRODUCTION.items() if k not in secrets}
    for name, value in secrets.items():
        (tmp_path / name).write_text(value + "\n")
        env[f"{name}_FILE"] = str(tmp_path / name)
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = _manage(
        "shell",
        "--verbosity=0",
        "-c",
        "from django.conf import settings as s; print(s.SECRET_KEY, s.DATABASES['default']"
        "['PASSWORD'], s.CELERY_BROKER_URL, s.CACHES['default']['LOCATION'], "
        "s.EMAIL_HOST_PASSWORD)",
        **env,
    )
    assert shown.stdout.split() == [
        secrets["SECRET_KEY"],
        "pass#word",
        secrets["REDIS_URL"],
        "redis://127.0.0.1:6379/1",  # CACHE_URL's location
        "mail-pass",
    ], shown.stderr


def test_production_refuses_a_secret_given_twice(tmp_path):
    (tmp_path / "secret_key").write_text(PRODUCTION["SECRET_KEY"])
    result = _manage("check", **PRODUCTION, SECRET_KEY_FILE=str(tmp_path / "secret_key"))
    assert result.returncode != 0
    assert "Set SECRET_KEY or SECRET_KEY_FILE, not both." in result.stderr

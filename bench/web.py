"""Web benchmark: the signed-in home page and an authenticated API endpoint under load.

Served by gunicorn on loopback, loaded by wrk for a few seconds each, beside a bare Django
view served the same way in the same run (the ratio is what to compare across machines).
Also prints the queries per page at two sizes of data, which must not differ.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DURATION = os.environ.get("BENCH_WEB_DURATION", "5s")


def _setup_django(var_dir: Path) -> None:
    os.environ["BIZI_VAR_DIR"] = str(var_dir)
    os.environ["BIZI_ROOT_URLCONF"] = "bench.urls"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _credentials() -> tuple[str, str]:
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore

    from portal.services import api_token_issue

    user = get_user_model().objects.get(username="nina")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    _, token = api_token_issue(user=user, name="bench")
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}", token


def _queries_per_page(path: str, username: str) -> int:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def _add_members(n: int) -> None:
    from django.contrib.auth import get_user_model

    from portal.models import Institution, Membership

    northbank = Institution.objects.get(slug="northbank")
    for i in range(n):
        user = get_user_model().objects.create(username=f"bench-member-{i}")
        Membership.objects.create(user=user, institution=northbank)


def _wrk(path: str, header: str | None) -> tuple[float, float]:
    cmd = ["wrk", "-t1", "-c8", f"-d{DURATION}", "--latency", f"http://127.0.0.1:{PORT}{path}"]
    if header:
        cmd[1:1] = ["-H", header]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{path} answered errors under load:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)\b", out).groups()
    p99_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, p99_ms


def _serve(var_dir: Path) -> subprocess.Popen:
    env = dict(os.environ, BIZI_VAR_DIR=str(var_dir), BIZI_ROOT_URLCONF="bench.urls")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "portal.wsgi:application"),
            *("--bind", f"127.0.0.1:{PORT}", "--workers", "2", "--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/bench/bare", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start")


def main() -> None:
    if shutil.which("wrk") is None:
        print("web: skipped: wrk is not installed (apt-get install wrk)")
        return
    var_dir = Path(tempfile.mkdtemp(prefix="bizi-bench-web-"))
    try:
        _setup_django(var_dir)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        call_command("load_demo", quiet=True)
        cookie, token = _credentials()
        small = _queries_per_page("/", "nina"), _queries_per_page("/api/v1/memberships/", "nina")
        _add_members(50)
        large = _queries_per_page("/", "nina"), _queries_per_page("/api/v1/memberships/", "nina")
        engine = "postgresql" if "postgres" in os.environ.get("DATABASE_URL", "") else "sqlite"

        server = _serve(var_dir)
        try:
            bare_rps, bare_p99 = _wrk("/bench/bare", None)
            home_rps, home_p99 = _wrk("/", f"Cookie: {cookie}")
            api_rps, api_p99 = _wrk("/api/v1/institutions/", f"Authorization: Bearer {token}")
        finally:
            server.terminate()
            server.wait(timeout=30)

        print(f"web.bare ({engine}): {bare_rps:.0f} req/s, p99 {bare_p99:.1f} ms")
        print(
            f"web.home signed-in: {home_rps:.0f} req/s, p99 {home_p99:.1f} ms, "
            f"ratio to bare {home_rps / bare_rps:.2f} (goal >= 0.5)"
        )
        print(
            f"web.api /api/v1/institutions/ token: {api_rps:.0f} req/s, p99 {api_p99:.1f} ms, "
            f"ratio to bare {api_rps / bare_rps:.2f} (goal >= 0.5)"
        )
        print(f"web.home queries: {small[0]} queries/page with 6 people, {large[0]} with 56")
        print(f"web.api queries: {small[1]} queries/page with 2 rows, {large[1]} with 52 rows")
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

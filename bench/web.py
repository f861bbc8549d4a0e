"""Web benchmark: the signed-in home page and an authenticated API endpoint under load.

Served by gunicorn on loopback, loaded by wrk for a few seconds each, beside a bare Django
view served the same way in the same run (the ratio is what to compare across machines).
Each round runs bare, home and api twice: alone, and beside a writer that makes one state
change a second through the services (an access request made or withdrawn by the signed-in
person's institution, with its notifications and ledger appends), so the cached pages are
dropped every second; after each change the writer reads the home page over HTTP and counts
the pages that did not show it yet (stale). Also prints the queries per page at two sizes of
data, which must not differ, both when the page is computed (cache emptied) and when it comes
from the cache.

On PostgreSQL (DATABASE_URL=postgres://…) it runs on a scratch database of the same server,
never the configured one. The server runs as deployed: DEBUG off (so the cached template
loader is on) and a cache shared by both workers (CACHE_URL if set, else the embedded default,
a folder under the scratch var/), which holds sessions, users, tokens and the cached pages
(portal/cached_pages.py).
"""

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.scratch import scratch_database

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8765"))
DURATION = os.environ.get("BENCH_WEB_DURATION", "3s")
ROUNDS = int(os.environ.get("BENCH_WEB_ROUNDS", "3"))


def _find(pattern: str, text: str) -> re.Match[str]:
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"wrk's report has no {pattern!r}:\n{text}")
    return found


def _setup_django(var_dir: Path) -> None:
    os.environ["BIZI_VAR_DIR"] = str(var_dir)
    os.environ["DEBUG"] = "false"  # measure what is deployed, not the debug templates
    # bench.settings serves /bench/bare beside the portal's URLs; the server started below
    # inherits it.
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
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

    from consortium.services import api_token_issue

    user = get_user_model().objects.get(username="nina")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    # The backend that loads users (the first, the lockout's, only checks sign-ins).
    session[BACKEND_SESSION_KEY] = "consortium.backends.ConsortiumBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    _, token = api_token_issue(user=user, name="bench")
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}", token


def _queries_per_page(path: str, *, username: str = "", token: str = "") -> tuple[int, int]:
    """Queries of one request computed from the database, and of one served from the cache."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}") if token else Client()
    if username:
        client.force_login(get_user_model().objects.get(username=username))
    counts = []
    for cold in (True, False):
        client.get(path)  # signs in, notes the token's use: as in a session under way
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        counts.append(len(queries))
    return counts[0], counts[1]


def _add_members(n: int) -> None:
    from django.contrib.auth import get_user_model

    from consortium.models import Institution, Membership

    northbank = Institution.objects.get(slug="northbank")
    for i in range(n):
        user = get_user_model().objects.create(username=f"bench-member-{i}")
        Membership.objects.create(user=user, institution=northbank)


def _computed_home_ms(username: str, pages: int = 30) -> float:
    """Time to compute the home page when it cannot come from the cache (a write just happened)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from portal import cache_versions

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    client.get("/")
    started = time.perf_counter()
    for _ in range(pages):
        cache_versions.bump_all()
        assert client.get("/").status_code == 200
    return (time.perf_counter() - started) / pages * 1000


# "Your institution's pending requests" (the apostrophe is escaped in the page).
PENDING = re.compile(r'pending requests</a> <strong class="count">(\d+)<')


class _Writer(threading.Thread):
    """One state change a second while `active` is set: nina's institution makes an access
    request, or withdraws the one it made, through the services; then the ledger appends the
    events (a worker's job) and the home page is read over HTTP to see that it shows the
    change. Counts changes and the pages that were stale."""

    def __init__(self, cookie: str) -> None:
        super().__init__(daemon=True)
        self.cookie = cookie
        self.active = threading.Event()
        self.stop = threading.Event()
        self.changes = 0
        self.stale = 0
        self.error: Exception | None = None

    def run(self) -> None:
        from django.db import connection

        try:
            self._loop()
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            self.error = exc
        finally:
            connection.close()

    def _loop(self) -> None:
        from django.contrib.auth import get_user_model

        from access import services as access
        from access.models import AccessRequest
        from catalog.models import Dataset
        from ledger.services import append_all

        nina = get_user_model().objects.get(username="nina")
        dataset = next(d for d in Dataset.objects.all() if access.may_request(nina, d))
        version = dataset.current_version
        assert version is not None  # the demo publishes every listing with a version
        columns = [c["name"] for c in version.columns][:2]
        mine = AccessRequest.objects.filter(requested_by=nina, state__in=AccessRequest.OPEN_STATES)
        next_at = time.monotonic()
        while not self.stop.is_set():
            if not self.active.wait(timeout=0.1):
                next_at = time.monotonic()
                continue
            open_request = mine.first()
            if open_request is None:
                access.access_request_create(
                    user=nina,
                    dataset=dataset,
                    purpose="The web benchmark's writer.",
                    columns=columns,
                    duration_days=30,
                )
            else:
                access.access_request_withdraw(user=nina, request=open_request, reason="bench")
            append_all()
            self.changes += 1
            request = urllib.request.Request(
                f"http://127.0.0.1:{PORT}/", headers={"Cookie": self.cookie}
            )
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
                shown = PENDING.search(response.read().decode())
            expected = AccessRequest.objects.filter(
                institution_id=nina.membership.institution_id, state__in=AccessRequest.OPEN_STATES
            ).count()
            if shown is None or int(shown.group(1)) != expected:
                self.stale += 1
            next_at += 1.0
            self.stop.wait(timeout=max(0.0, next_at - time.monotonic()))


def _csrf_cookie(cookie: str) -> str:
    """The CSRF cookie the first page gives a signed-in browser, which sends it from then on."""
    request = urllib.request.Request(f"http://127.0.0.1:{PORT}/", headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback http
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith("csrftoken="):
                return header.split(";", 1)[0]
    raise RuntimeError("the home page set no CSRF cookie")


def _server_cpu_seconds(master: int) -> float:
    """CPU time (user + system) the gunicorn master and its workers have used so far (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended meanwhile
        pid, ppid = int(stat.parent.name), int(fields[1])
        if master in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def _wrk(path: str, header: str | None, master: int) -> tuple[float, float, float]:
    """Requests/s, p99 in ms, and the server's CPU milliseconds per request."""
    cmd = ["wrk", "-t1", "-c8", f"-d{DURATION}", "--latency", f"http://127.0.0.1:{PORT}{path}"]
    if header:
        cmd[1:1] = ["-H", header]
    cpu_before = _server_cpu_seconds(master)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    cpu = _server_cpu_seconds(master) - cpu_before
    if "Non-2xx" in out:
        raise RuntimeError(f"{path} answered errors under load:\n{out}")
    rps = float(_find(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(_find(r"(\d+) requests in", out).group(1))
    value, unit = _find(r"\s99%\s+([\d.]+)(us|ms|s)\b", out).groups()
    p99_ms = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, p99_ms, cpu * 1000 / requests


def _serve(var_dir: Path) -> subprocess.Popen:
    env = dict(os.environ, BIZI_VAR_DIR=str(var_dir))
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "-c", "portal/gunicorn.conf.py"),
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
    url = os.environ.get("DATABASE_URL", "")
    # Never the configured database: a scratch one on the same server, dropped afterwards.
    scratch = url.rsplit("/", 1)[0] + "/bizi_bench_web" if url.startswith("postgres") else None
    try:
        with scratch_database(scratch):
            if scratch:
                os.environ["DATABASE_URL"] = scratch
            try:
                _run(var_dir)
            finally:
                from django.db import connections

                connections.close_all()  # before the scratch database is dropped
    finally:
        if scratch:
            os.environ["DATABASE_URL"] = url  # the groups after this one use their own
        shutil.rmtree(var_dir, ignore_errors=True)


def _run(var_dir: Path) -> None:
    _setup_django(var_dir)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_demo", quiet=True)
    cookie, token = _credentials()
    api = "/api/v1/institutions/"
    small = _queries_per_page("/", username="nina"), _queries_per_page(api, token=token)
    _add_members(50)
    large = _queries_per_page("/", username="nina"), _queries_per_page(api, token=token)
    engine = "postgresql" if "postgres" in os.environ.get("DATABASE_URL", "") else "sqlite"
    from django.conf import settings

    cache_backend = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]

    computed_ms = _computed_home_ms("nina")

    server = _serve(var_dir)
    try:
        cookie = f"{cookie}; {_csrf_cookie(cookie)}"
        targets = {
            "bare": ("/bench/bare", None),
            "home": ("/", f"Cookie: {cookie}"),
            "api": (api, f"Authorization: Bearer {token}"),
        }
        writer = _Writer(cookie)
        writer.start()
        # Rounds of bare, home, api in turn, alone and then beside the writer: on a shared
        # machine the load of others drifts, and each round's ratio compares runs made seconds
        # apart.
        runs: dict[str, list[tuple[float, float, float]]] = {}
        for _ in range(ROUNDS):
            for writing in (False, True):
                if writing:
                    writer.active.set()
                for name, (path, header) in targets.items():
                    key = f"{name}+writer" if writing else name
                    runs.setdefault(key, []).append(_wrk(path, header, server.pid))
                writer.active.clear()
        writer.stop.set()
        writer.join(timeout=30)
        if writer.error is not None:
            raise RuntimeError("the writer failed") from writer.error
    finally:
        server.terminate()
        server.wait(timeout=30)

    def median(name: str, index: int) -> float:
        return statistics.median(run[index] for run in runs[name])

    def ratios(name: str, bare_name: str) -> tuple[float, str]:
        pairs = zip(runs[name], runs[bare_name], strict=True)
        each = [run[0] / bare[0] for run, bare in pairs]
        return statistics.median(each), " ".join(f"{r:.2f}" for r in each)

    for suffix, beside in [("", ""), ("+writer", ", beside the writer")]:
        bare = f"bare{suffix}"
        print(
            f"web.bare{beside} ({engine}, {cache_backend}): {median(bare, 0):.0f} req/s, "
            f"p99 {median(bare, 1):.1f} ms (median of {ROUNDS} rounds)"
        )
        for name, label in [("home", "web.home signed-in"), ("api", f"web.api {api} token")]:
            ratio, each = ratios(name + suffix, bare)
            print(
                f"{label}{beside}: {median(name + suffix, 0):.0f} req/s, "
                f"p99 {median(name + suffix, 1):.1f} ms, "
                f"ratio to bare {ratio:.2f} (goal >= 0.5; rounds {each})"
            )
    print(
        f"web.writer: {writer.changes} state changes at 1/s with their ledger appends; "
        f"home pages read after a change that did not show it: {writer.stale}"
    )
    # Server CPU per request does not depend on what else the machine runs meanwhile: the
    # ratio req/s would approach if the load generator and the neighbours cost nothing.
    for suffix, beside in [("", ""), ("+writer", ", beside the writer")]:
        cpu = {name: median(name + suffix, 2) for name in targets}
        print(
            f"web.cpu{beside} server ms/request: "
            + ", ".join(f"{name} {cpu[name]:.2f}" for name in targets)
            + f"; bare/home {cpu['bare'] / cpu['home']:.2f}, "
            + f"bare/api {cpu['bare'] / cpu['api']:.2f}"
        )
    print(f"web.home computed (after a write, in-process): {computed_ms:.1f} ms/page")
    print(
        f"web.home queries: {small[0][0]} queries/page rendered with 6 people, "
        f"{large[0][0]} with 56; {small[0][1]} and {large[0][1]} from the cache"
    )
    print(
        f"web.api queries: {small[1][0]} queries/page computed with 6 people, "
        f"{large[1][0]} with 56; {small[1][1]} and {large[1][1]} from the cache"
    )


if __name__ == "__main__":
    main()

"""Suite-wide fixtures and the rule for tests that need a service.

Tests marked `postgres`, `celery`, `browser` or `golang` need PostgreSQL, Redis, Chromium or
Go with Debian's golang.org/x/mod. Where one is
missing they are skipped with a reason that `-ra` prints at the end; under `CI=true` a missing
service stops the run instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import redis
from django.conf import settings
from pytest_django.fixtures import Settings

pytest_plugins = ["portal.tests.fixtures"]

CHROMIUM = os.environ.get("BIZI_CHROMIUM", "/usr/bin/chromium")
# Debian's golang-golang-x-mod-dev: the Go checksum database's tlog code, a tlog-tiles client
# the portal did not write (ledger/tests/tlog_client).
GO_X_MOD = "/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog"


def _missing_services() -> dict[str, str]:
    missing = {}
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        missing["postgres"] = "PostgreSQL is not configured (set DATABASE_URL=postgres://…)"
    if not os.environ.get("REDIS_URL"):
        missing["celery"] = "Redis is not configured (set REDIS_URL=redis://…)"
    if not (shutil.which("go") and Path(GO_X_MOD).is_dir()):
        missing["golang"] = (
            "Go and golang.org/x/mod are not installed (Debian: golang-go golang-golang-x-mod-dev)"
        )
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
def _one_process_cache(settings: Settings) -> None:
    # An empty in-memory cache per test. Cached pages stay on: the test's process (and its
    # live-server thread) is the only one writing, so its bumps reach every reader;
    # `worker_factory` turns them off for tests with a worker process, which cannot share it.
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.BIZI_PAGE_CACHE = True
    cache.clear()


@pytest.fixture
def sent_tasks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple]]:
    """What `portal.tasking` publishes, as (task name, args), instead of sending it."""
    sent: list[tuple[str, tuple]] = []

    def record(name: str, *args: object, countdown: float | None = None) -> bool:
        sent.append((name, args))
        return True

    monkeypatch.setattr("portal.tasking.publish", record)
    return sent


def database_url_of(settings_dict: dict) -> str:
    """The DATABASE_URL that points another process at the database this test process uses."""
    if settings_dict["ENGINE"] in {"portal.sqlite3", "django.db.backends.sqlite3"}:
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return (
        f"postgres://{auth}{settings_dict.get('HOST') or '127.0.0.1'}{port}/{settings_dict['NAME']}"
    )


class WorkerProcess:
    """A real `celery worker` process on Redis, pointed at the test database."""

    def __init__(
        self,
        log_path: Path,
        extra_env: dict[str, str] | None = None,
        *,
        beat: bool = False,
        queues: Sequence[str] | None = None,
    ) -> None:
        from django.db import connection

        from portal.celery import QUEUE_NAMES

        self.log_path = log_path
        # Every queue unless told: one test worker does what bin/run's workers share out.
        self.queues = ",".join(queues or QUEUE_NAMES)
        # An embedded beat runs the periodic tasks (the ledger's re-send among them).
        self.extra_args = ["-B", "--schedule", str(log_path.with_suffix(".beat"))] if beat else []
        self.env = dict(os.environ)
        self.env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        self.env["DATABASE_URL"] = database_url_of(connection.settings_dict)
        self.env.update(extra_env or {})
        self.name = f"test-{os.getpid()}-{id(self)}@localhost"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(  # noqa: S603 - the project's own Celery app
                [
                    *(sys.executable, "-m", "celery", "-A", "portal", "worker"),
                    *("--pool=solo", "--loglevel=INFO", "-n", self.name, "-Q", self.queues),
                    *("--without-gossip", "--without-mingle"),
                    *self.extra_args,
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).parent,
                # Its own process group: a kill reaches the embedded beat process too, as a
                # machine crash would, and nothing outlives the test.
                start_new_session=True,
            )
        # Ready when it says so in its log: this does not depend on reaching the broker from here.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited: {self.log_path.read_text()[-2000:]}")
            if b" ready." in self.log_path.read_bytes()[offset:]:
                return
            time.sleep(0.1)
        raise RuntimeError(f"the worker did not start: {self.log_path.read_text()[-2000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        self.kill()  # whatever is left of the group (beat), and a worker that would not stop


@pytest.fixture
def worker_factory(transactional_db: None, tmp_path: Path, settings):
    """Make worker processes for this test; every one is stopped when the test ends."""
    from portal.celery import app

    settings.BIZI_PAGE_CACHE = False  # the worker's writes cannot reach this process's cache
    app.control.purge()  # messages left by an earlier test must not run against this one
    made: list[WorkerProcess] = []

    def make(
        extra_env: dict[str, str] | None = None,
        *,
        beat: bool = False,
        queues: Sequence[str] | None = None,
    ) -> WorkerProcess:
        log = tmp_path / f"worker-{len(made)}.log"
        worker = WorkerProcess(log, extra_env, beat=beat, queues=queues)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stop()


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own, so the test can stop and restart it: {url, start, stop}."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]
    state = {"process": None}

    def start() -> None:
        state["process"] = subprocess.Popen(args, stdout=subprocess.DEVNULL)  # noqa: S603
        client = redis.Redis(host="127.0.0.1", port=port)
        wait_for(lambda: _pings(client), timeout=20)

    def stop() -> None:
        state["process"].terminate()
        state["process"].wait(timeout=20)

    start()
    yield {"url": f"redis://127.0.0.1:{port}/0", "start": start, "stop": stop}
    if state["process"].poll() is None:
        stop()


def _pings(client) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


@pytest.fixture
def celery_worker(worker_factory):
    """A started worker for this test."""
    worker = worker_factory()
    worker.start()
    return worker


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(
        f"gave up after {timeout} s waiting for {getattr(predicate, '__name__', predicate)}"
    )


CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # the suite runs as root in CI, where Chromium's sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No network but loopback here: keep Chromium from trying to phone home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "test-artifacts"


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a
    # thread with a running loop unless told that this is deliberate.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium, live_server, request):
    """Open pages in fresh browser contexts (one per person) against the live server."""
    contexts = []

    def open_page():
        context = chromium.new_context(base_url=live_server.url)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    ARTIFACTS.mkdir(exist_ok=True)
    for n, context in enumerate(contexts):
        for m, page in enumerate(context.pages):
            page.screenshot(path=ARTIFACTS / f"{request.node.name}-{n}-{m}.png", full_page=True)
        context.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


@pytest.fixture(scope="session", autouse=True)
def _flush_through_ledger_guard():
    """Let the test database be emptied between transactional tests.

    The ledger's tables refuse DELETE and TRUNCATE (ledger/db_guard.py). Django empties the
    database after each transactional test; only there, the flush lifts the triggers, empties
    the tables and puts the triggers back, all in the flush's own transaction.
    """
    from django.db import connection

    from ledger.db_guard import guard_sql, unguard_sql

    ops_class = type(connection.ops)
    original = ops_class.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = original(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if not statements:
            return statements
        vendor = self.connection.vendor
        return [*unguard_sql(vendor), *statements, *guard_sql(vendor)]

    ops_class.sql_flush = sql_flush
    yield
    ops_class.sql_flush = original


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache, as its database starts empty."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="session")
def tlog_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ledger/tests/tlog_client built with Debian's Go and golang.org/x/mod (GOPATH mode: no
    module download), once per run. Tests using it are marked `golang`."""
    out = tmp_path_factory.mktemp("tlog-client")
    source = Path(__file__).parent / "ledger" / "tests" / "tlog_client" / "main.go"
    env = {
        **os.environ,
        "GO111MODULE": "off",
        "GOPATH": "/usr/share/gocode",
        "GOCACHE": str(out / "cache"),
        "GOFLAGS": "",
    }
    subprocess.run(  # noqa: S603 - the project's own test program
        ["go", "build", "-o", str(out / "tlog_client"), str(source)],  # noqa: S607
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )
    return out / "tlog_client"

"""The outbox against real faults: a worker killed with SIGKILL again and again, and Redis
stopped while events are recorded. Afterwards every event is in the log once, in order."""

import json
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import transaction

from conftest import wait_for
from ledger.models import Entry, OutboxEvent
from ledger.services import record_event
from ledger.verification import verify_ledger

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.celery, pytest.mark.slow]

FAST_LEDGER = {
    "LEDGER_RESEND_SECONDS": "1",
    "LEDGER_BLOCK_MAX_ENTRIES": "100",
    "LEDGER_BLOCK_MAX_SECONDS": "2",
    "LEDGER_VERIFY_SECONDS": "3600",
    "HEARTBEAT_INTERVAL_SECONDS": "3600",
}


def _record(n: int) -> None:
    # One transaction per event, as one web request per change would do.
    with transaction.atomic():
        record_event("dataset.published", None, {"dataset": f"ds-{n % 10}", "n": n})


def _assert_log_holds(count: int) -> None:
    numbers = [
        json.loads(bytes(d))["subject"]["n"] for d in Entry.objects.values_list("data", flat=True)
    ]
    assert numbers == list(range(count)), "every event once, in the order recorded"
    assert list(Entry.objects.values_list("index", flat=True)) == list(range(count))
    assert not OutboxEvent.objects.exists()
    result = verify_ledger(record=False)
    assert result.ok, result.first_problem


def test_sigkilled_worker_loses_and_duplicates_nothing(worker_factory):
    worker = worker_factory(FAST_LEDGER, beat=True)
    worker.start()
    stop = threading.Event()
    kills = []
    rng = random.Random(20261125)

    def chaos() -> None:
        while not stop.is_set():
            time.sleep(rng.uniform(0.2, 0.8))
            if stop.is_set():
                return
            worker.kill(signal.SIGKILL)
            kills.append(time.monotonic())
            worker.start()

    killer = threading.Thread(target=chaos, daemon=True)
    killer.start()
    try:
        for n in range(1000):
            _record(n)
            time.sleep(0.012)  # spread the events over the kills, like traffic over a day
    finally:
        stop.set()
        killer.join(timeout=120)
    assert len(kills) >= 3, "the worker must actually have been killed while events flowed"
    wait_for(
        lambda: Entry.objects.count() >= 1000 and not OutboxEvent.objects.exists(), timeout=120
    )
    worker.stop()
    _assert_log_holds(1000)


RECORD = """
from django.db import transaction
from ledger.services import record_event
for n in range({start}, {stop}):
    with transaction.atomic():
        record_event("dataset.published", None, {{"dataset": f"ds-{{n % 10}}", "n": n}})
"""


def _record_elsewhere(env: dict[str, str], start: int, stop: int) -> float:
    """Record events from another process (as the web server would); returns seconds taken."""
    began = time.monotonic()
    subprocess.run(  # noqa: S603 - the project's own manage.py
        [sys.executable, "manage.py", "shell", "-c", RECORD.format(start=start, stop=stop)],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return time.monotonic() - began


def test_events_recorded_while_redis_is_down_reach_the_log_after(own_redis, worker_factory):
    worker = worker_factory({**FAST_LEDGER, "REDIS_URL": own_redis["url"]}, beat=True)
    worker.start()
    web = {**worker.env}
    _record_elsewhere(web, 0, 1)
    wait_for(lambda: Entry.objects.count() == 1)

    own_redis["stop"]()
    seconds = _record_elsewhere(web, 1, 21)  # must neither fail nor hang while Redis is down
    assert seconds < 30
    time.sleep(2)
    assert (OutboxEvent.objects.count(), Entry.objects.count()) == (20, 1), "waiting in the outbox"
    assert Entry.objects.count() == 1

    own_redis["start"]()
    wait_for(lambda: Entry.objects.count() == 21 and not OutboxEvent.objects.exists(), timeout=90)
    worker.stop()
    _assert_log_holds(21)

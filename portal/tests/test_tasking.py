"""`portal.tasking`, the one way to queue work: after commit, by name, to the task's queue, and
never failing the caller when the broker is down."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from portal import tasking
from portal.celery import QUEUE_NAMES, QUEUES, app

ROOT = Path(__file__).resolve().parents[2]


def test_every_task_has_a_queue_and_every_queue_entry_is_a_task():
    app.loader.import_default_modules()  # what a worker imports at start
    tasks = {name for name in app.tasks if not name.startswith("celery.")}
    assert tasks == set(QUEUES), "name each new task's queue in portal.celery.QUEUES"
    assert set(QUEUES.values()) <= set(QUEUE_NAMES)


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("ledger.tasks.append_outbox", "ledger"),
        ("ledger.tasks.seal_block", "ledger"),
        ("ledger.tasks.verify", "default"),
        ("storage.tasks.repair_object", "storage"),
        ("catalog.tasks.process_upload", "catalog"),
        ("sharing.tasks.make_share_files", "catalog"),
        ("portal.tasks.heartbeat", "default"),
        ("no.such.task", "default"),
    ],
)
def test_a_task_is_routed_by_its_name(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


@pytest.mark.django_db
def test_a_task_is_sent_after_commit_and_never_for_a_rollback(
    sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        tasking.send("storage.tasks.repair_object", "abc")
        assert sent_tasks == [], "nothing leaves before the commit"
    assert sent_tasks == [("storage.tasks.repair_object", ("abc",))]

    sent_tasks.clear()
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        tasking.send("storage.tasks.repair_object", "abc")
        raise RuntimeError("the request failed")
    assert sent_tasks == []


@pytest.mark.django_db
def test_once_sends_one_task_per_transaction(sent_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for _ in range(3):
            tasking.send("ledger.tasks.append_outbox", once=True)
        tasking.send("storage.tasks.repair_object", "a")
        tasking.send("storage.tasks.repair_object", "b")
    assert sent_tasks == [
        ("ledger.tasks.append_outbox", ()),
        ("storage.tasks.repair_object", ("a",)),
        ("storage.tasks.repair_object", ("b",)),
    ]


BROKER_DOWN = """
import json, logging, time
from django.db import transaction
from portal import tasking
warnings = []
class Catch(logging.Handler):
    def emit(self, record):
        if record.levelno >= logging.WARNING:
            warnings.append(record.getMessage())
logging.getLogger("portal.tasking").addHandler(Catch())
began = time.monotonic()
with transaction.atomic():
    tasking.send("storage.tasks.repair_object", "x")  # the caller's commit does not fail
first = time.monotonic() - began
began = time.monotonic()
later = [tasking.publish("storage.tasks.repair_object", str(n)) for n in range(20)]
print(json.dumps({"first": first, "later": time.monotonic() - began, "results": later,
                  "warnings": warnings}))
"""


def test_a_broker_that_is_down_costs_one_attempt_and_fails_nobody(tmp_path):
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "PATH": "/usr/bin:/bin",
        "BIZI_VAR_DIR": str(tmp_path),
        "REDIS_URL": f"redis://127.0.0.1:{port}/0",
    }
    result = subprocess.run(  # noqa: S603 - the project's own manage.py
        [sys.executable, "manage.py", "shell", "-c", BROKER_DOWN],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["results"] == [False] * 20
    assert outcome["later"] < 0.5, "the breaker is open: no request waits for the broker again"
    assert len(outcome["warnings"]) == 1, outcome["warnings"]
    assert "beat sends it again" in outcome["warnings"][0]

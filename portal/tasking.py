"""The one way to queue work: `send(name, *args)` publishes a task once the transaction commits.

    from portal import tasking
    tasking.send("storage.tasks.repair_object", str(obj.pk))

Tasks are sent by their registered name, so a service never imports a tasks module (the tasks
module imports the service: that was the circle). After commit, never before: a worker must not
read a row that is not there yet or was rolled back (pretix's TransactionAwareTask, warehouse's
WarehouseTask.apply_async). Outside a transaction `send` publishes at once.

Sending never fails the caller. Every kind of queued work has a row that says it is still to be
done (an outbox event, an upload left `received`, a bad shard, a stale snapshot...) and a beat
task that finds those rows and sends them again (portal/celery.py lists them), so a message
lost with the broker or with a killed worker delays the work, never loses it. A broker that does
not answer is logged and then not tried again for BROKER_RETRY_AFTER_SECONDS, so web requests
do not each wait for a refused connection while Redis is down.

Which queue a task goes to is decided by its name (`portal.celery.QUEUES`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from django.db import connection, transaction

from portal.celery import app

log = logging.getLogger(__name__)

# redis-py spends about two seconds on a refused connection; one request in ten seconds pays it.
BROKER_RETRY_AFTER_SECONDS = 10.0
_broker_down_until = 0.0


class _Send:
    """The after-commit callback of one `send`; `key` lets `send(once=True)` find its twin."""

    def __init__(self, name: str, args: tuple[Any, ...], countdown: float | None) -> None:
        self.name, self.args, self.countdown = name, args, countdown
        self.key = (name, args)

    def __call__(self) -> None:
        publish(self.name, *self.args, countdown=self.countdown)

    def __repr__(self) -> str:
        return f"<send {self.name}{self.args!r}>"


def send(name: str, *args: Any, countdown: float | None = None, once: bool = False) -> None:
    """Publish task `name` with `args` (JSON values: ids, not model instances) after commit.

    `countdown` delays the task by that many seconds. `once` sends it once per transaction
    however often this is called in it (the ledger's wake-up, for a transaction that records
    many events). Never raises: see the module's docstring for why that is safe.
    """
    callback = _Send(name, tuple(args), countdown)
    if once and any(getattr(f, "key", None) == callback.key for f in _pending()):
        return
    transaction.on_commit(callback, robust=True)


def _pending() -> list[object]:
    # `run_on_commit` holds (savepoint ids, callback, robust) for the open transaction.
    return [entry[1] for entry in connection.run_on_commit] if connection.in_atomic_block else []


def publish(name: str, *args: Any, countdown: float | None = None) -> bool:
    """Publish task `name` now; False (and logged) if the broker does not answer.

    For beat's sweeps, which re-send what their rows say is left, and for `send`'s callbacks.
    """
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        log.debug("not queueing %s%r: the broker was down moments ago", name, args)
        return False
    try:
        app.signature(name, args=list(args)).apply_async(countdown=countdown, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure means "later", not "lost"
        _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
        log.warning(
            "could not queue %s%r (%s); beat sends it again. Not trying the broker for %.0f s.",
            name,
            args,
            exc,
            BROKER_RETRY_AFTER_SECONDS,
        )
        return False
    log.debug("queued %s%r", name, args)
    return True


def publish_each(name: str, args_list: Sequence[Sequence[Any]]) -> int:
    """Publish `name` once per argument list (a sweep's findings); returns how many went.

    Stops at the first failure: the broker is down, and the next sweep finds the rest.
    """
    sent = 0
    for args in args_list:
        if not publish(name, *args):
            break
        sent += 1
    return sent

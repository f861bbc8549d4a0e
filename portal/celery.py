"""The Celery application: which queue each task goes to, and every timer the portal runs.

Tasks live in each app's `tasks.py` and are sent through `portal.tasking`. Both tables are here,
in one place, so the next engineer sees every queue and every timer at once.
"""

import os
from pathlib import Path
from typing import Any

from celery import Celery
from django.conf import settings
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.base")

# One queue per kind of work, each with workers of its own (bin/run), so a 2 GiB publish on
# `catalog` never delays a block seal on `ledger`. A task not listed goes to `default`, and a
# test fails for it (portal/tests/test_tasking.py): name its queue here.
LEDGER, STORAGE, CATALOG, DEFAULT = "ledger", "storage", "catalog", "default"
QUEUE_NAMES = (LEDGER, STORAGE, CATALOG, DEFAULT)
QUEUES = {
    # Short and latency-bound: events into the log, blocks sealed, checkpoints to witnesses.
    "ledger.tasks.append_outbox": LEDGER,
    "ledger.tasks.seal_block": LEDGER,
    "ledger.tasks.send_to_witnesses": LEDGER,
    "ledger.tasks.witness_pending": LEDGER,
    # Reads the whole log: kept off `ledger` so that it never holds up a seal.
    "ledger.tasks.verify": DEFAULT,
    # Shards: repairs, the scrub, drains, the Table 1 experiment.
    "storage.tasks.repair_object": STORAGE,
    "storage.tasks.repair_pending": STORAGE,
    "storage.tasks.scrub": STORAGE,
    "storage.tasks.drain_node": STORAGE,
    "storage.tasks.drain_pending": STORAGE,
    "storage.tasks.run_table1": STORAGE,
    "storage.tasks.table1_pending": STORAGE,
    # Datasets' bytes: checking and storing uploads, the Arrow copies, the Delta Sharing files.
    "catalog.tasks.process_upload": CATALOG,
    "catalog.tasks.sweep_uploads": CATALOG,
    "catalog.tasks.make_arrow_copy": CATALOG,
    "catalog.tasks.sweep_arrow_copies": CATALOG,
    "sharing.tasks.make_share_files": CATALOG,
    "sharing.tasks.sweep_share_files": CATALOG,
    # Small and quick.
    "portal.tasks.heartbeat": DEFAULT,
    "access.tasks.expire_grants": DEFAULT,
    "dashboards.tasks.rebuild_snapshots": DEFAULT,
    "surveys.tasks.rebuild_results": DEFAULT,
    "surveys.tasks.rebuild_stale": DEFAULT,
}


def route(name: str, args: object, kwargs: object, options: object, **kw: object) -> dict:
    """Celery's router (`task_routes`): the queue of task `name`, from QUEUES."""
    return {"queue": QUEUES.get(name, DEFAULT)}


app = Celery("bizi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.add_defaults(  # defaults, not `app.conf.…=`: that would read the configuration right now
    {
        "task_default_queue": DEFAULT,
        # Declared, not created on first use, so `app.control.purge()` empties every one.
        "task_queues": [Queue(name) for name in QUEUE_NAMES],
        "task_routes": (route,),
    }
)
# Every installed app's `tasks` module, found the one way Celery does it.
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_folders(sender: Celery, source: Any, **kwargs: object) -> None:
    # The filesystem broker's folders (the demo, without REDIS_URL) and beat's schedule file
    # live under var/; they are made here, when a process first sends a task or starts a
    # worker or beat, since importing the settings creates nothing.
    options = source.broker_transport_options or {}
    keys = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")
    folders = [options.get(key) for key in keys]
    folders.append(str(Path(source.beat_schedule_filename).parent))
    for folder in filter(None, folders):
        Path(folder).mkdir(parents=True, exist_ok=True)


@app.on_after_finalize.connect
def _setup_periodic_tasks(sender: Celery, **kwargs: object) -> None:
    # Each re-send finds the rows of work still to do and sends it again (portal/tasking.py).
    timers = [
        (settings.HEARTBEAT_INTERVAL_SECONDS, "portal.tasks.heartbeat", "worker heartbeat"),
        (settings.LEDGER_RESEND_SECONDS, "ledger.tasks.append_outbox", "ledger: append the outbox"),
        (settings.LEDGER_BLOCK_MAX_SECONDS, "ledger.tasks.seal_block", "ledger: seal a block"),
        (
            settings.LEDGER_WITNESS_BACKOFF_SECONDS,
            "ledger.tasks.witness_pending",
            "ledger: send the newest checkpoint to witnesses behind it",
        ),
        (settings.LEDGER_VERIFY_SECONDS, "ledger.tasks.verify", "ledger: verify everything"),
        (settings.STORAGE_REPAIR_SECONDS, "storage.tasks.repair_pending", "storage: repair"),
        (
            settings.STORAGE_REPAIR_SECONDS,
            "storage.tasks.drain_pending",
            "storage: drain the nodes still marked draining",
        ),
        (settings.STORAGE_SCRUB_SECONDS, "storage.tasks.scrub", "storage: scrub every shard"),
        (
            settings.STORAGE_REPAIR_SECONDS,
            "storage.tasks.table1_pending",
            "storage: send the Table 1 runs still queued",
        ),
        (
            settings.SURVEY_STALE_CHECK_SECONDS,
            "surveys.tasks.rebuild_stale",
            "surveys: rebuild stale result snapshots",
        ),
        (
            settings.ACCESS_EXPIRE_SECONDS,
            "access.tasks.expire_grants",
            "access: expire grants whose time has passed",
        ),
        (
            settings.CATALOG_UPLOAD_RESEND_SECONDS,
            "catalog.tasks.sweep_uploads",
            "catalog: send the uploads still received, or stuck checking",
        ),
        (
            settings.CATALOG_ARROW_SWEEP_SECONDS,
            "catalog.tasks.sweep_arrow_copies",
            "catalog: queue the Arrow copies still missing",
        ),
        (
            settings.SHARING_SWEEP_SECONDS,
            "sharing.tasks.sweep_share_files",
            "sharing: queue the share files still missing",
        ),
        (
            settings.DASHBOARD_SNAPSHOT_SECONDS,
            "dashboards.tasks.rebuild_snapshots",
            "dashboards: rebuild the unfiltered views' snapshots",
        ),
    ]
    for seconds, task, name in timers:
        sender.add_periodic_task(float(seconds), sender.signature(task), name=name)

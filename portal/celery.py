"""The Celery application. Tasks live in each app's `tasks.py`; the periodic schedule is here,
in one place, so the next engineer sees every timer the portal runs."""

import os
from pathlib import Path
from typing import Any

from celery import Celery
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.base")

app = Celery("bizi")
app.config_from_object("django.conf:settings", namespace="CELERY")
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
    sender.add_periodic_task(
        float(settings.HEARTBEAT_INTERVAL_SECONDS),
        sender.signature("portal.tasks.heartbeat"),
        name="worker heartbeat",
    )
    ledger_timers = [
        (settings.LEDGER_RESEND_SECONDS, "ledger.tasks.append_outbox", "ledger: append the outbox"),
        (settings.LEDGER_BLOCK_MAX_SECONDS, "ledger.tasks.seal_block", "ledger: seal a block"),
        (settings.LEDGER_VERIFY_SECONDS, "ledger.tasks.verify", "ledger: verify everything"),
    ]
    for seconds, task, name in ledger_timers:
        sender.add_periodic_task(float(seconds), sender.signature(task), name=name)
    storage_timers = [
        (settings.STORAGE_REPAIR_SECONDS, "storage.tasks.repair_pending", "storage: repair"),
        (settings.STORAGE_SCRUB_SECONDS, "storage.tasks.scrub", "storage: scrub every shard"),
    ]
    for seconds, task, name in storage_timers:
        sender.add_periodic_task(float(seconds), sender.signature(task), name=name)
    sender.add_periodic_task(
        float(settings.SURVEY_STALE_CHECK_SECONDS),
        sender.signature("surveys.tasks.rebuild_stale"),
        name="surveys: rebuild stale result snapshots",
    )
    sender.add_periodic_task(
        float(settings.ACCESS_EXPIRE_SECONDS),
        sender.signature("access.tasks.expire_grants"),
        name="access: expire grants whose time has passed",
    )
    sender.add_periodic_task(
        float(settings.CATALOG_ARROW_SWEEP_SECONDS),
        sender.signature("catalog.tasks.sweep_arrow_copies"),
        name="catalog: queue the Arrow copies still missing",
    )
    sender.add_periodic_task(
        float(settings.SHARING_SWEEP_SECONDS),
        sender.signature("sharing.tasks.sweep_share_files"),
        name="sharing: queue the share files still missing",
    )
    sender.add_periodic_task(
        float(settings.DASHBOARD_SNAPSHOT_SECONDS),
        sender.signature("dashboards.tasks.rebuild_snapshots"),
        name="dashboards: rebuild the unfiltered views' snapshots",
    )

"""The Celery application. Tasks live in each app's `tasks.py`; the periodic schedule is here,
in one place, so the next engineer sees every timer the portal runs."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("bizi")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _setup_periodic_tasks(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(
        float(settings.HEARTBEAT_INTERVAL_SECONDS),
        sender.signature("portal.tasks.heartbeat"),
        name="worker heartbeat",
    )

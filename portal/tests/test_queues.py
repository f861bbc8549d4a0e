"""The ledger has a queue and a worker of its own (portal/celery.py, bin/run): a block is sealed
while a long catalog task is still running. With one worker for every queue it is not.

The long task is a real upload being checked and stored whose file is a named pipe: the worker
blocks reading it until the test writes to it, as it would on a 2 GiB file, but for exactly as
long as the test needs.
"""

import os
from pathlib import Path

import pytest
from django.db import transaction

from catalog.models import DatasetUpload
from conftest import wait_for
from ledger.models import Block
from ledger.services import record_event
from portal import tasking

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ONE_EVENT_A_BLOCK = {
    "LEDGER_BLOCK_MAX_ENTRIES": "1",
    "LEDGER_BLOCK_MAX_SECONDS": "3600",
    "LEDGER_RESEND_SECONDS": "3600",
    "HEARTBEAT_INTERVAL_SECONDS": "3600",
}


def _stuck_upload(cast, var: Path) -> tuple[DatasetUpload, Path]:
    """A large upload, queued; its worker blocks on its file until `_release` is called."""
    upload = DatasetUpload.objects.create(
        institution_id=cast.acme.pk,
        metadata={"title": "Two GiB of loans", "description": "x", "category": "loans"},
        file_name="big.csv",
        size_bytes=2 << 30,
        created_by=cast.bob.user,
    )
    fifo = var / "uploads" / f"{upload.pk}.csv"
    os.mkfifo(fifo)
    tasking.publish("catalog.tasks.process_upload", str(upload.pk))
    # Storing: the worker has claimed it and is reading the file (the check beside it).
    wait_for(lambda: DatasetUpload.objects.filter(pk=upload.pk, state="storing").exists())
    return upload, fifo


def _release(fifo: Path) -> None:
    # The readers blocked in open() wake up and read an empty file: the check refuses it.
    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


def _record_one_event() -> None:
    with transaction.atomic():
        record_event("dataset.published", None, {"dataset": "ds-1"})


@pytest.fixture
def var(tmp_path: Path) -> Path:
    (tmp_path / "var" / "uploads").mkdir(parents=True)
    return tmp_path / "var"


def test_a_block_is_sealed_while_a_long_catalog_task_runs(cast, worker_factory, var):
    env = {**ONE_EVENT_A_BLOCK, "BIZI_VAR_DIR": str(var)}
    worker_factory(env, queues=["ledger"]).start()
    worker_factory(env, queues=["catalog", "storage", "default"]).start()
    upload, fifo = _stuck_upload(cast, var)

    _record_one_event()
    wait_for(Block.objects.exists, timeout=30)
    assert DatasetUpload.objects.get(pk=upload.pk).state == "storing", "still running"

    _release(fifo)
    done = wait_for(lambda: DatasetUpload.objects.filter(pk=upload.pk, state="failed").first())
    assert done.problems, "the empty file was checked and refused"


def test_with_one_worker_for_every_queue_the_seal_waits_for_the_catalog(cast, worker_factory, var):
    worker_factory({**ONE_EVENT_A_BLOCK, "BIZI_VAR_DIR": str(var)}).start()  # all queues
    upload, fifo = _stuck_upload(cast, var)

    _record_one_event()
    with pytest.raises(pytest.fail.Exception):
        wait_for(Block.objects.exists, timeout=8)

    _release(fifo)
    wait_for(Block.objects.exists, timeout=30)  # sealed only once the catalog task ended
    assert DatasetUpload.objects.get(pk=upload.pk).state == "failed"

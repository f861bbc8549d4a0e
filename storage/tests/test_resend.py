"""Storage's queued work is found again from its rows: a node still marked draining that holds
shards, and a Table 1 run still queued (or running with no progress). Beat's tasks send it
again; running it twice does it once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from storage import repair, services
from storage.models import StorageNode, Table1Run
from storage.tasks import drain_pending, table1_pending
from storage.tests.helpers import payload, put_bytes

pytestmark = pytest.mark.django_db

SMALL = {"nodes": 6, "trials": 3, "objects": 2, "max_object_bytes": 2000}


def test_a_drain_whose_message_was_lost_is_sent_again_until_the_node_is_empty(
    nodes, sent_tasks, django_capture_on_commit_callbacks
):
    put_bytes(payload(5000))
    node = max(nodes, key=lambda n: n.shards.count())
    with django_capture_on_commit_callbacks(execute=False):  # its own message: lost
        services.node_set_status(node=node, status=StorageNode.Status.DRAINING)
    assert repair.nodes_draining() == [node.pk]
    assert drain_pending() == 1
    assert sent_tasks == [("storage.tasks.drain_node", (node.pk,))]

    repair.node_drain(node=node)
    assert repair.nodes_draining() == [], "drained: nothing more to send"


def test_a_table1_run_whose_message_was_lost_is_sent_again_and_runs_once(
    settings, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # its own message: lost
        run, _ = services.table1_request(by="mo", **SMALL)
    assert services.table1_runs_unsent() == [], "just queued: its own message may be on its way"

    Table1Run.objects.filter(pk=run.pk).update(
        created_at=timezone.now() - timedelta(seconds=settings.STORAGE_REPAIR_SECONDS + 1)
    )
    assert table1_pending() == 1
    assert sent_tasks == [("storage.tasks.run_table1", (run.pk,))]
    assert services.table1_execute(run_id=run.pk).status == "done"
    assert services.table1_execute(run_id=run.pk) is None, "a second delivery runs nothing"
    assert services.table1_runs_unsent() == []


def test_a_table1_run_whose_worker_died_is_sent_again(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run, _ = services.table1_request(by="mo", **SMALL)
    quiet_since = timezone.now() - timedelta(seconds=services.TABLE1_STALE_SECONDS + 1)
    Table1Run.objects.filter(pk=run.pk).update(status="running", heartbeat_at=quiet_since)
    assert services.table1_runs_unsent() == [run.pk]
    assert services.table1_execute(run_id=run.pk).status == "done"

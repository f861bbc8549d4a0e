"""A real worker on Redis makes a grant's share files after the approval commits, and the
beat sweep's task queues the ones a lost message left missing."""

import pytest

from conftest import wait_for
from sharing.models import ShareTable
from sharing.tasks import sweep_share_files

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_approval_queues_the_files_and_the_worker_makes_them(celery_worker, granted):
    grant = granted()  # approved in a transaction of its own: the task goes after commit
    table = wait_for(
        lambda: ShareTable.objects.filter(grant=grant).exclude(state="pending").first(), 60
    )
    assert table.state == "ready", table.error
    assert table.files.count() == 1 and table.rows == 4


def test_the_sweep_sends_what_a_lost_message_left(celery_worker, granted, settings, monkeypatch):
    monkeypatch.setattr("portal.tasking.publish", lambda name, *args, **kw: False)  # lost
    settings.SHARING_SWEEP_SECONDS = 0
    grant = granted()
    assert ShareTable.objects.get(grant=grant).state == "pending"
    monkeypatch.undo()  # the broker answers again
    assert sweep_share_files() == 1
    table = wait_for(
        lambda: ShareTable.objects.filter(grant=grant).exclude(state="pending").first(), 60
    )
    assert table.state == "ready", table.error

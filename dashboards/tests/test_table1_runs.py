"""Starting the Table 1 experiment from the dashboard: one at a time, run once, with progress."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from storage import services
from storage.models import Table1Run
from storage.selectors import table1_latest

pytestmark = pytest.mark.django_db

SMALL = {"nodes": 6, "trials": 3, "objects": 2, "max_object_bytes": 2000}


def test_a_second_request_while_one_is_queued_starts_nothing(
    django_capture_on_commit_callbacks, sent_tasks
):
    with django_capture_on_commit_callbacks(execute=True):
        first, created = services.table1_request(by="mo", **SMALL)
        again, created_again = services.table1_request(by="mo2", **SMALL)
    assert created and not created_again and again == first
    runs = [args for name, args in sent_tasks if name == "storage.tasks.run_table1"]
    assert runs == [(first.pk,)], "one task for one run"
    assert Table1Run.objects.count() == 1


def test_the_task_runs_a_queued_run_once_and_reports_progress(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run, _ = services.table1_request(by="mo", **SMALL)

    done = services.table1_execute(run_id=run.pk)
    assert done is not None and done.status == "done" and done.trials_done == 3
    assert {s["scheme"] for s in done.report["schemes"]} == {"blockchain", "ipfs", "zigzag"}
    assert done.report["trials"] == 3 and done.finished_at is not None
    assert table1_latest() == done
    # Delivered twice (acks_late after a lost ack): the second delivery does nothing.
    assert services.table1_execute(run_id=run.pk) is None
    assert Table1Run.objects.get().report == done.report


def test_a_run_whose_worker_died_is_taken_over(django_capture_on_commit_callbacks):
    long_ago = timezone.now() - timedelta(seconds=services.TABLE1_STALE_SECONDS + 1)
    stale = Table1Run.objects.create(
        nodes=6,
        trials=3,
        seed=1,
        status="running",
        trials_done=1,
        heartbeat_at=long_ago,
        created_at=long_ago,
        report={"requested": {"objects": 1, "max_object_bytes": 100}},
    )
    # The redelivered message claims it again …
    assert services.table1_execute(run_id=stale.pk).status == "done"
    # … and a new request no longer waits for a dead one.
    Table1Run.objects.filter(pk=stale.pk).update(status="running", heartbeat_at=long_ago)
    with django_capture_on_commit_callbacks(execute=False):
        run, created = services.table1_request(by="mo", **SMALL)
    assert created and run.pk != stale.pk
    stale.refresh_from_db()
    assert stale.status == "failed" and "stopped reporting" in stale.error


def test_a_failed_experiment_is_marked_failed(monkeypatch, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run, _ = services.table1_request(by="mo", **SMALL)

    def boom(s, progress=None):
        progress(1, s.trials)
        raise OSError("disk full")

    monkeypatch.setattr("storage.services.run_experiment", boom)
    with pytest.raises(OSError):
        services.table1_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.trials_done, run.error) == ("failed", 1, "disk full")
    assert table1_latest() is None


def test_impossible_settings_are_refused_with_the_reason():
    from portal.errors import DomainError

    with pytest.raises(DomainError, match="at least k\\+m = 6 nodes"):
        services.table1_request(by="mo", nodes=4, trials=1)


def test_the_page_shows_progress_and_the_status_view_follows(
    cast, client, django_capture_on_commit_callbacks
):
    client.force_login(cast.mo)
    page = client.get(reverse("dashboard-storage")).content.decode()
    assert "Run the experiment" in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("dashboard-table1-start"), follow=True)
    page = response.content.decode()
    assert "A new Table 1 experiment is queued" in page
    assert 'data-testid="table1-progress" data-status="queued"' in page
    run = Table1Run.objects.get()
    Table1Run.objects.filter(pk=run.pk).update(status="running", trials_done=50)
    status = client.get(reverse("dashboard-table1-status", args=[run.pk])).json()
    assert (status["status"], status["trials_done"], status["percent"]) == ("running", 50, 25)
    with django_capture_on_commit_callbacks(execute=False):
        page = client.post(reverse("dashboard-table1-start"), follow=True).content.decode()
    assert "An experiment is already running" in page
    assert client.get(reverse("dashboard-table1-status", args=[run.pk + 1])).status_code == 404

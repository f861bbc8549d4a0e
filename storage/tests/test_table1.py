"""`manage.py table1`: the experiment on the real code path, its report, and its API."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.urls import reverse

from storage.models import Table1Run
from storage.table1 import PAPER, Settings, run_experiment

pytestmark = pytest.mark.django_db

SMALL = ["--nodes", "6", "--trials", "20", "--objects", "4", "--max-object-bytes", "600000"]


def test_table1_json_reports_every_scheme_beside_the_paper(capsys):
    call_command("table1", *SMALL, "--json")
    report = json.loads(capsys.readouterr().out)
    assert (report["nodes"], report["trials"]) == (6, 20)
    assert [s["scheme"] for s in report["schemes"]] == ["blockchain", "ipfs", "zigzag"]
    assert set(report["definitions"]) == {"fault_tolerance", "storage_saving", "scalability"}
    by = {s["scheme"]: s for s in report["schemes"]}
    for name, scheme in by.items():
        assert scheme["paper"] == PAPER[name]
        assert set(scheme["measured"]) == set(report["definitions"])
    assert by["blockchain"]["paper"] == {
        "fault_tolerance": 87,
        "storage_saving": 34,
        "scalability": 56,
    }
    # What the definitions imply, measured: a copy on every node never loses data and saves
    # nothing; 3 replicas store 3x, (4, 2) 1.5x; doubling the network doubles replication's cost.
    assert by["blockchain"]["measured"]["fault_tolerance"] == 100.0
    assert by["blockchain"]["measured"]["storage_saving"] == 0.0
    assert by["blockchain"]["measured"]["scalability"] == 50.0
    assert by["ipfs"]["measured"]["storage_saving"] == pytest.approx(50.0, abs=0.5)
    assert by["zigzag"]["measured"]["storage_saving"] == pytest.approx(75.0, abs=0.5)
    assert by["zigzag"]["measured"]["scalability"] == 100.0
    # Any failure pattern of up to m (zigzag) or r-1 (IPFS) nodes was survived, in every trial.
    assert by["zigzag"]["detail"]["fewest_failures_that_lost_data"] in (None, 3, 4, 5)
    assert by["ipfs"]["detail"]["fewest_failures_that_lost_data"] in (None, 3, 4, 5)
    for difference in report["differences"]:
        assert difference["why"]
        assert abs(difference["measured"] - difference["paper"]) >= 5
    run = Table1Run.objects.get()
    assert run.report["schemes"] == report["schemes"]


def test_table1_text_has_definitions_the_papers_figures_and_reasons(capsys):
    call_command("table1", *SMALL)
    out = capsys.readouterr().out
    assert "Fault tolerance" in out and "(87 %)" in out and "(52 %)" in out and "(36 %)" in out
    assert "Storage saving: 1 - (bytes stored on all nodes)" in out
    assert "Scalability: bytes written per object byte on N nodes" in out
    assert "and why:" in out


def test_the_same_seed_gives_the_same_figures():
    s = Settings(nodes=6, trials=10, objects=3, max_object_bytes=300_000, seed=7)
    first, second = run_experiment(s), run_experiment(s)
    assert [x["measured"] for x in first["schemes"]] == [x["measured"] for x in second["schemes"]]


def test_too_few_nodes_for_the_code_is_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least k\\+m = 6 nodes"):
        call_command("table1", "--nodes", "5", "--trials", "1")


def test_the_api_serves_the_latest_run(cast, api):
    api.force_authenticate(cast.bob.user)
    assert api.get(reverse("api-storage-table1")).status_code == 404
    call_command("table1", *SMALL, "--json")
    response = api.get(reverse("api-storage-table1"))
    assert response.status_code == 200
    body = response.json()
    assert body["nodes"] == 6 and body["run_at"]
    assert body["schemes"][2]["paper"] == {
        "fault_tolerance": 36,
        "storage_saving": 89,
        "scalability": 45,
    }

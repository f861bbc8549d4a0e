"""Who sees the dashboards: managers and moderators; everyone else 403 (anonymous: sign in)."""

import pytest
from django.urls import reverse

from storage.models import Table1Run

pytestmark = pytest.mark.django_db

PAGES = [
    ("dashboard-usage", {}),
    ("dashboard-usage-csv", {"table": "category"}),
    ("dashboard-storage", {}),
    ("dashboard-storage-csv", {"table": "nodes"}),
    ("dashboard-ledger", {}),
    ("dashboard-ledger-csv", {"table": "kinds"}),
    ("dashboards", {}),
]

STATUS = {"alice": 403, "bob": 403, "carol": 403, "dave": 403, "aud": 403, "meg": 200, "mo": 200}


def _user(cast, who):  # type: ignore[no-untyped-def]
    person = getattr(cast, who)
    return getattr(person, "user", person)


@pytest.mark.parametrize("who", sorted(STATUS))
@pytest.mark.parametrize(("name", "query"), PAGES)
def test_only_managers_and_moderators_see_dashboards(cast, client, who, name, query):
    client.force_login(_user(cast, who))
    response = client.get(reverse(name), query)
    expected = STATUS[who]
    if name == "dashboards" and expected == 200:
        expected = 302  # to the usage dashboard
    assert response.status_code == expected


@pytest.mark.parametrize(("name", "query"), PAGES)
def test_anonymous_people_are_sent_to_sign_in(client, name, query):
    response = client.get(reverse(name), query)
    assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.parametrize("who", sorted(STATUS))
def test_table1_status_is_for_dashboard_readers(cast, client, who):
    run = Table1Run.objects.create(nodes=6, trials=4, seed=1, status="running", trials_done=1)
    client.force_login(_user(cast, who))
    response = client.get(reverse("dashboard-table1-status", args=[run.pk]))
    assert response.status_code == STATUS[who]
    if response.status_code == 200:
        assert response.json()["percent"] == 25


@pytest.mark.parametrize(("who", "expected"), [("mo", 302), ("meg", 403), ("alice", 403)])
def test_only_moderators_start_table1(
    cast, client, who, expected, django_capture_on_commit_callbacks
):
    client.force_login(_user(cast, who))
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("dashboard-table1-start"))
    assert response.status_code == expected
    assert Table1Run.objects.filter(status="queued").count() == (1 if expected == 302 else 0)


@pytest.mark.parametrize(
    ("who", "shown"), [("meg", True), ("mo", True), ("bob", False), ("aud", False)]
)
def test_home_and_nav_link_the_dashboards_for_their_readers(cast, client, who, shown):
    client.force_login(_user(cast, who))
    page = client.get(reverse("home")).content.decode()
    assert ('href="/dashboards/"' in page) is shown
    assert ("Usage dashboard" in page) is shown


def _html_rows(page: str, name: str) -> list[list[str]]:
    import re

    table = re.search(rf'<table data-testid="table-{name}">(.*?)</table>', page, re.S)
    assert table, f"no table {name}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]


@pytest.mark.parametrize(
    ("page", "csv_name", "table"),
    [
        ("dashboard-storage", "dashboard-storage-csv", "nodes"),
        ("dashboard-storage", "dashboard-storage-csv", "repairs"),
        ("dashboard-ledger", "dashboard-ledger-csv", "blocks"),
        ("dashboard-ledger", "dashboard-ledger-csv", "kinds"),
        ("dashboard-ledger", "dashboard-ledger-csv", "witnesses"),
    ],
)
def test_every_csv_matches_its_table(cast, client, page, csv_name, table):
    import csv
    import io

    from dashboards.tests.conftest import (
        block,
        ledger_entries,
        node,
        storage_event,
        stored_object,
    )
    from ledger.models import Witness

    stored_object([node("n1"), node("n2")], size=10, stored=20, bad=1)
    storage_event("shard.repaired", "2026-04-01")
    storage_event("shard.missing", "2026-04-02")
    ledger_entries([("dataset.published", "2026-04-01"), ("access.requested", "2026-04-02")])
    block(0, 2, "2026-04-02")
    Witness.objects.create(institution=cast.acme, name="w", url="https://w.test", vkey="w+1+AA")
    client.force_login(cast.meg)
    html = client.get(reverse(page), {"since": "2026-04-01"}).content.decode()
    response = client.get(reverse(csv_name), {"since": "2026-04-01", "table": table})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == _html_rows(html, table) and len(rows) > 1

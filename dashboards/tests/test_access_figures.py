"""The usage dashboard's access figures against numbers worked out by hand.

The fixture, `history`: Acme lists L1 (internal) and L2 (confidential), Beta lists B1
(restricted). Requests, with their hours from request to moderation / decision:

| req | who → what | made | moderated | decided | state |
| --- | --- | --- | --- | --- | --- |
| r1 | Beta → L1 | Mon 2 Mar 10:00 | | +4 h | approved |
| r2 | Beta → L2 | Tue 3 Mar 09:00 | +2 h | +24 h | approved |
| r9 | Acme → B1 | Mon 2 Mar 08:00 | +1 h | +2 h | approved |
| r3 | Beta → L1 | Tue 10 Mar 08:00 | | +1 h | denied |
| r4 | Acme → B1 | Wed 11 Mar 12:00 | +6 h (rejected) | | rejected |
| r8 | Beta → L1 | Thu 12 Mar 12:00 | | | withdrawn |
| r5 | Acme → B1 | now − 10 h | | | waiting for a moderator |
| r6 | Beta → L2 | now − 50 h | now − 20 h | | waiting for the owner |
| r7 | Beta → L1 | now − 5 h | | | waiting for the owner |

Downloads (rows, bytes): under r1's grant 3 Mar (100, 1000) and 10 Mar (50, 500); under r2's
5 Mar (10, 4000) and one abandoned (999 bytes, not counted); under r9's 4 Mar (7, 700).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboards import selectors
from dashboards.selectors import (
    DatasetDownloads,
    InstitutionDownloads,
    Outcomes,
    Period,
    RequestsOfWeek,
    WeekDownloads,
)
from dashboards.tests.conftest import access_request, at, dataset, download, grant
from portal.tests.factories import InstitutionFactory, MembershipFactory

pytestmark = pytest.mark.django_db

H = timedelta(hours=1)


def monday(moment: datetime) -> date:
    day = moment.astimezone(timezone.get_current_timezone()).date()
    return day - timedelta(days=day.weekday())


@pytest.fixture
def history(cast):
    now = timezone.now()
    alice, carol, dave, bob = cast.alice.user, cast.carol.user, cast.dave.user, cast.bob.user
    l1 = dataset(cast.acme, alice, day="2026-01-05", category="loans")
    l2 = dataset(cast.acme, alice, day="2026-01-06", category="cards", sensitivity="confidential")
    b1 = dataset(cast.beta, carol, day="2026-01-07", category="insurance", sensitivity="restricted")
    r1 = access_request(
        l1,
        cast.beta,
        dave,
        state="approved",
        created=at("2026-03-02", 10),
        decided=at("2026-03-02", 14),
    )
    r2 = access_request(
        l2,
        cast.beta,
        dave,
        state="approved",
        created=at("2026-03-03", 9),
        moderated=at("2026-03-03", 11),
        decided=at("2026-03-04", 9),
    )
    r9 = access_request(
        b1,
        cast.acme,
        bob,
        state="approved",
        created=at("2026-03-02", 8),
        moderated=at("2026-03-02", 9),
        decided=at("2026-03-02", 10),
    )
    access_request(
        l1,
        cast.beta,
        dave,
        state="denied",
        created=at("2026-03-10", 8),
        decided=at("2026-03-10", 9),
    )
    access_request(
        b1,
        cast.acme,
        bob,
        state="rejected",
        created=at("2026-03-11", 12),
        moderated=at("2026-03-11", 18),
    )
    access_request(l1, cast.beta, dave, state="withdrawn", created=at("2026-03-12"))
    access_request(b1, cast.acme, bob, state="pending_moderation", created=now - 10 * H)
    access_request(
        l2, cast.beta, dave, state="pending_decision", created=now - 50 * H, moderated=now - 20 * H
    )
    access_request(l1, cast.beta, dave, state="pending_decision", created=now - 5 * H)
    g1, g2, g9 = grant(r1, alice), grant(r2, alice), grant(r9, carol)
    download(g1, dave, finished=at("2026-03-03", 10), rows=100, size=1000)
    download(g1, dave, finished=at("2026-03-10", 10), rows=50, size=500)
    download(g2, dave, finished=at("2026-03-05", 10), rows=10, size=4000)
    download(g2, dave, finished=None, size=999)
    download(g9, bob, finished=at("2026-03-04", 10), rows=7, size=700)
    cast.now = now
    cast.l1 = l1
    return cast


def _figures(period: Period | None = None, institution=None):
    return selectors.usage_figures(period=period or Period(), institution=institution).access


EMPTY_WEEK = {
    "pending_moderation": 0,
    "pending_decision": 0,
    "approved": 0,
    "denied": 0,
    "rejected": 0,
    "withdrawn": 0,
}


def test_no_requests_no_figures(cast):
    access = _figures()
    assert access.weekly == [] and access.per_dataset == [] and access.per_week == []
    assert access.outcomes == Outcomes(
        counts=EMPTY_WEEK,
        total=0,
        decided=0,
        approval_rate=None,
    )
    assert [(t.decisions, t.p50, t.p90) for t in access.decision_times] == [
        (0, None, None),
        (0, None, None),
    ]
    assert [(q.waiting, q.p50, q.max) for q in access.queues] == [
        (0, None, None),
        (0, None, None),
    ]
    assert (access.downloads, access.bytes) == (0, 0)


def test_the_empty_page_says_so(cast, client):
    client.force_login(cast.meg)
    page = client.get(reverse("dashboard-usage")).content.decode()
    for name in ["requests", "outcomes", "decision_time", "queues", "downloads_dataset", "bytes"]:
        assert f'data-testid="empty-{name}"' in page, name
    assert 'data-testid="approval-rate">—<' in page


def test_a_single_request_decided_and_downloaded(cast):
    ds = dataset(cast.acme, cast.alice.user, day="2026-01-05")
    request = access_request(
        ds,
        cast.beta,
        cast.dave.user,
        state="approved",
        created=at("2026-04-01", 9),
        decided=at("2026-04-01", 12),
    )
    download(
        grant(request, cast.alice.user), cast.dave.user, finished=at("2026-04-02"), rows=4, size=321
    )
    access = _figures()
    # 1 April 2026 is a Wednesday: its week starts on Monday 30 March.
    assert access.weekly == [
        RequestsOfWeek(week=date(2026, 3, 30), total=1, counts={**EMPTY_WEEK, "approved": 1})
    ]
    assert access.outcomes.approval_rate == 100.0
    decision = access.decision_times[1]
    assert (decision.decisions, decision.p50, decision.p90) == (1, 3.0, 3.0)
    assert access.decision_times[0].decisions == 0
    assert access.per_dataset == [
        DatasetDownloads(
            dataset=ds.pk,
            title=ds.title,
            owner="Acme Bank",
            downloads=1,
            rows=4,
            bytes=321,
        )
    ]
    assert access.per_institution == [
        InstitutionDownloads(institution="Beta Insurance", downloads=1, rows=4, bytes=321)
    ]
    assert access.per_week == [
        WeekDownloads(week=date(2026, 3, 30), downloads=1, rows=4, bytes=321)
    ]


def test_a_download_names_its_listing_and_grantee_and_the_migration_backfills_them(cast):
    """The figures group downloads by these copies of the grant's fields: they are set on
    every new download, and migration 0009 wrote them for the downloads made before it."""
    import importlib

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    from access.models import Download

    ds = dataset(cast.acme, cast.alice.user, day="2026-01-05")
    made_at = at("2026-04-01")
    request = access_request(
        ds, cast.beta, cast.dave.user, state="approved", created=made_at, decided=made_at
    )
    made = download(grant(request, cast.alice.user), cast.dave.user, finished=at("2026-04-02"))
    assert (made.dataset_id, made.institution_id) == (ds.pk, cast.beta.pk)

    other = dataset(cast.beta, cast.dave.user, day="2026-01-06")
    Download.objects.filter(pk=made.pk).update(dataset=other, institution=cast.acme)  # stale
    name = "0009_download_dataset_institution"
    migration = importlib.import_module(f"portal.migrations.{name}")
    # The models as that migration saw them (they belonged to `portal` then).
    then = MigrationLoader(connection).project_state(("portal", name)).apps
    migration.copy_from_grants(then, None)
    made.refresh_from_db()
    assert (made.dataset_id, made.institution_id) == (ds.pk, cast.beta.pk)


def test_requests_per_week_and_outcomes_by_hand(history):
    access = _figures()
    now_week = RequestsOfWeek(
        week=monday(history.now - 50 * H),
        total=3,
        counts={**EMPTY_WEEK, "pending_moderation": 1, "pending_decision": 2},
    )
    expected = [
        RequestsOfWeek(week=date(2026, 3, 2), total=3, counts={**EMPTY_WEEK, "approved": 3}),
        RequestsOfWeek(
            week=date(2026, 3, 9),
            total=3,
            counts={**EMPTY_WEEK, "denied": 1, "rejected": 1, "withdrawn": 1},
        ),
    ]
    if monday(history.now - 50 * H) == monday(history.now - 5 * H):
        expected.append(now_week)
        assert access.weekly == expected
    else:  # run early on a Monday or Tuesday: r6 fell in the week before
        assert access.weekly[:2] == expected and sum(w.total for w in access.weekly) == 9
    assert access.outcomes == Outcomes(
        counts={
            "pending_moderation": 1,
            "pending_decision": 2,
            "approved": 3,
            "denied": 1,
            "rejected": 1,
            "withdrawn": 1,
        },
        total=9,
        decided=5,
        approval_rate=60.0,  # 3 approved of 5 decided
    )


def test_time_to_decision_by_hand(history):
    times = {t.stage: t for t in _figures().decision_times}
    # Moderation: 1, 2, 6, 30 h. Median halfway between 2 and 6; p90 at position 0.9 x 3 = 2.7,
    # 70 % of the way from 6 to 30.
    assert (times["moderation"].decisions, times["moderation"].p50) == (4, 4.0)
    assert times["moderation"].p90 == 22.8
    # Owner: 1, 2, 4, 24 h: median 3, p90 4 + 0.7 x 20 = 18.
    assert (times["decision"].decisions, times["decision"].p50, times["decision"].p90) == (
        4,
        3.0,
        18.0,
    )


def test_queue_ages_by_hand(history):
    queues = {q.queue: q for q in _figures().queues}
    moderation, decision = queues["moderation_queue"], queues["decision_queue"]
    assert (moderation.waiting, moderation.p50, moderation.p90, moderation.max) == (
        1,
        10.0,
        10.0,
        10.0,
    )
    # r6 has waited 20 h since its clearance (not 50 since the request), r7 5 h.
    assert (decision.waiting, decision.p50, decision.p90, decision.max) == (
        2,
        12.5,
        18.5,
        20.0,
    )


def test_downloads_and_bytes_by_hand(history):
    access = _figures()
    assert [(r.title, r.owner, r.downloads, r.rows, r.bytes) for r in access.per_dataset] == [
        ("loans 2026-01-05", "Acme Bank", 2, 150, 1500),
        ("cards 2026-01-06", "Acme Bank", 1, 10, 4000),
        ("insurance 2026-01-07", "Beta Insurance", 1, 7, 700),
    ]
    assert access.per_institution == [
        InstitutionDownloads(institution="Beta Insurance", downloads=3, rows=160, bytes=5500),
        InstitutionDownloads(institution="Acme Bank", downloads=1, rows=7, bytes=700),
    ]
    assert access.per_week == [
        WeekDownloads(week=date(2026, 3, 2), downloads=3, rows=117, bytes=5700),
        WeekDownloads(week=date(2026, 3, 9), downloads=1, rows=50, bytes=500),
    ]
    assert (access.downloads, access.bytes) == (4, 6200)  # not the abandoned 999


def test_the_date_range_changes_the_figures(history):
    access = _figures(Period(date(2026, 3, 9), date(2026, 3, 15)))
    assert [w.week for w in access.weekly] == [date(2026, 3, 9)]
    assert access.outcomes.total == 3 and access.outcomes.approval_rate == 0.0
    times = {t.stage: (t.decisions, t.p50) for t in access.decision_times}
    assert times == {"moderation": (1, 6.0), "decision": (1, 1.0)}  # r4 and r3
    assert access.per_institution == [
        InstitutionDownloads(institution="Beta Insurance", downloads=1, rows=50, bytes=500)
    ]
    # The queues are as now, whatever the range.
    assert [q.waiting for q in access.queues] == [1, 2]


def test_the_institution_filter_means_by_or_for_it(history):
    gamma = InstitutionFactory(name="Gamma Pay", slug="gamma")
    gina = MembershipFactory(user__username="gina", institution=gamma, steward=True).user
    g1 = dataset(gamma, gina, day="2026-01-08", category="payments")
    request = access_request(
        g1,
        history.beta,
        history.dave.user,
        state="approved",
        created=at("2026-03-02", 12),
        decided=at("2026-03-02", 20),
    )
    download(grant(request, gina), history.dave.user, finished=at("2026-03-03"), rows=1, size=11)
    everything = _figures()
    assert everything.outcomes.total == 10 and everything.bytes == 6211
    acme = _figures(institution=history.acme)  # not Beta's request for Gamma's data
    assert acme.outcomes.total == 9 and acme.bytes == 6200
    only_gamma = _figures(institution=gamma)
    assert only_gamma.outcomes.counts["approved"] == 1
    assert only_gamma.outcomes.total == 1
    assert [(t.decisions, t.p50) for t in only_gamma.decision_times] == [
        (0, None),
        (1, 8.0),
    ]
    assert [q.waiting for q in only_gamma.queues] == [0, 0]
    assert only_gamma.per_institution == [
        InstitutionDownloads(institution="Beta Insurance", downloads=1, rows=1, bytes=11)
    ]


def _html_table(page: str, name: str) -> list[list[str]]:
    table = re.search(rf'<table data-testid="table-{name}">(.*?)</table>', page, re.S)
    assert table, f"no table {name}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]


ACCESS_TABLES = [
    "requests",
    "outcomes",
    "decision_time",
    "queues",
    "downloads_dataset",
    "downloads_institution",
    "bytes",
]


@pytest.mark.parametrize("name", ACCESS_TABLES)
@pytest.mark.parametrize(
    "query", [{}, {"since": "2026-03-01", "until": "2026-03-31", "institution": "beta"}]
)
def test_csv_export_equals_the_table(history, client, name, query):
    client.force_login(history.meg)
    page = client.get(reverse("dashboard-usage"), query).content.decode()
    response = client.get(reverse("dashboard-usage-csv"), {**query, "table": name})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [[cell.replace("&#x27;", "'") for cell in r] for r in _html_table(page, name)]
    assert len(rows) > 1


def test_the_page_shows_the_facts_and_charts(history, client):
    client.force_login(history.mo)
    response = client.get(reverse("dashboard-usage"))
    page = response.content.decode()
    assert 'data-testid="requests-total">9<' in page
    assert 'data-testid="approval-rate">60.0 % of 5 decided<' in page
    assert 'data-testid="bytes-total">6200<' in page
    charts = response.context["charts"]
    assert charts["downloads_institution"]["data"][0]["y"] == [3, 1]
    assert charts["bytes"]["data"][0]["y"] == [5700, 500]
    assert charts["decision_time"]["data"][0]["y"] == [4.0, 3.0]  # medians
    narrowed = client.get(reverse("dashboard-usage"), {"since": "2026-03-09"}).context["charts"]
    assert narrowed["bytes"]["data"][0]["y"] == [500]


def _count_queries(client, query: dict) -> int:
    client.get(reverse("dashboard-usage"), query)  # as in a session under way: the user is cached
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("dashboard-usage"), query).status_code == 200
    return len(captured)


def _more_history(cast, n: int) -> None:
    """n more decided, downloaded requests, and n waiting ones, on n new listings."""
    for i in range(n):
        ds = dataset(cast.acme, cast.alice.user, day=f"2026-02-{1 + i % 28:02d}")
        made = at(f"2026-02-{1 + i % 28:02d}", 8)
        request = access_request(
            ds,
            cast.beta,
            cast.dave.user,
            state="approved",
            created=made,
            moderated=made + H,
            decided=made + (i + 2) * H,
        )
        download(grant(request, cast.alice.user), cast.dave.user, finished=made + 30 * H, size=i)
        access_request(
            ds,
            cast.beta,
            cast.dave.user,
            state="pending_decision",
            created=timezone.now() - (i + 1) * H,
        )


def test_query_count_does_not_grow_with_requests(cast, client):
    client.force_login(cast.meg)
    _more_history(cast, 2)
    few = _count_queries(client, {})
    _more_history(cast, 25)
    many = _count_queries(client, {})
    assert many == few
    # PostgreSQL: the institutions' names, 2 catalog + 5 access + 2 Delta Sharing aggregates
    # and the titles of the most downloaded listings, the institution list, session, user,
    # roles, unread notifications and the snapshot lookup. SQLite reads each percentile with
    # one more ORDER BY ... OFFSET.
    assert many <= (15 if connection.vendor == "postgresql" else 21)
    assert _count_queries(client, {"since": "2026-02-01", "institution": "acme"}) <= many


def _downloaded_listing_titled(cast, client, title):
    """One listing with `title`, approved and downloaded once; the manager signed in."""
    ds = dataset(cast.acme, cast.alice.user, day="2026-01-05")
    ds.title = title
    ds.save(update_fields=["title"])
    request = access_request(
        ds,
        cast.beta,
        cast.dave.user,
        state="approved",
        created=at("2026-04-01", 9),
        decided=at("2026-04-01", 12),
    )
    download(grant(request, cast.alice.user), cast.dave.user, finished=at("2026-04-02"), size=1)
    client.force_login(cast.meg)


def test_table_cells_are_escaped(cast, client):
    _downloaded_listing_titled(cast, client, "<script>alert(1)</script> & more")
    page = client.get(reverse("dashboard-usage")).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more (Acme Bank)" in page


def test_chart_labels_are_escaped(cast, client):
    # plotly draws label HTML: a title with a link would be a clickable link in the chart.
    _downloaded_listing_titled(cast, client, '<a href="https://evil.example/">click</a>')
    response = client.get(reverse("dashboard-usage"))
    labels = [
        label
        for chart in response.context["charts"].values()
        for trace in chart["data"]
        for label in trace.get("x", [])
    ]
    escaped = "&lt;a href=&quot;https://evil.example/&quot;&gt;click&lt;/a&gt;"
    assert any(escaped in str(label) for label in labels)
    assert not any("<a " in str(label) for label in labels)

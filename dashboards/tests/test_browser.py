"""A manager opens each dashboard, narrows the date range and sees the chart follow; a moderator
starts the Table 1 experiment and watches it run. Screenshots go to test-artifacts/."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from conftest import ARTIFACTS, sign_in
from dashboards.tests.conftest import (
    access_request,
    at,
    block,
    dataset,
    download,
    grant,
    ledger_entries,
    node,
    storage_event,
    stored_object,
)
from portal.tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def history(cast):  # type: ignore[no-untyped-def]
    for day, category in [
        ("2026-01-05", "loans"),
        ("2026-01-06", "cards"),
        ("2026-02-10", "loans"),
    ]:
        listing = dataset(cast.acme, cast.alice.user, day=day, category=category)
        # Beta asks for each listing the day after, is approved two hours later and
        # downloads the next day: 3 downloads, 1 of them from February on.
        made = at(day, 9) + timedelta(days=1)
        request = access_request(
            listing,
            cast.beta,
            cast.dave.user,
            state="approved",
            created=made,
            decided=made + timedelta(hours=2),
        )
        download(
            grant(request, cast.alice.user),
            cast.dave.user,
            finished=made + timedelta(days=1),
            size=100,
        )
    stored_object([node("n1"), node("n2"), node("n3")], size=1000, stored=1500)
    for day in ["2026-01-05", "2026-01-05", "2026-02-10"]:
        storage_event("shard.missing", day)
    storage_event("scrub.run", "2026-02-11", detail="3 shards checked, 0 bad")
    ledger_entries([("dataset.published", "2026-01-05")] * 4 + [("access.requested", "2026-02-10")])
    block(0, 4, "2026-01-05")
    block(1, 5, "2026-02-10")
    return cast


def _total(page, name: str) -> str:  # type: ignore[no-untyped-def]
    chart = page.locator(f"#chart-{name}[data-drawn=true]")
    # The usage page draws ten charts; on a busy machine that takes more than the default 5 s.
    expect(chart.locator(".main-svg").first).to_be_visible(timeout=30_000)
    return chart.get_attribute("data-total")


@pytest.mark.parametrize(
    ("link", "chart", "before", "after"),
    [
        ("Usage", "category", "3", "1"),  # loans 2 + cards 1, then loans 1 from February
        ("Usage", "downloads_institution", "3", "1"),  # Beta's downloads
        ("Storage", "repairs", "3", "1"),  # shards found missing
        ("Ledger", "kinds", "5", "1"),  # entries per kind
    ],
)
def test_a_manager_narrows_each_dashboard(new_page, history, link, chart, before, after):
    page = new_page()
    sign_in(page, "meg", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboards").click()
    page.get_by_role("navigation", name="Dashboards").get_by_role("link", name=link).click()
    expect(page.get_by_test_id("computed-at")).to_contain_text("Computed")
    assert _total(page, chart) == before
    page.get_by_label("From").fill("2026-02-01")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**since=2026-02-01**")
    assert _total(page, chart) == after
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"dashboard-{link.lower()}-{chart}.png", full_page=True)


@pytest.mark.celery
@pytest.mark.slow
def test_a_moderator_runs_table1_and_watches_it(new_page, cast, celery_worker, monkeypatch):
    monkeypatch.setattr(
        "dashboards.views.TABLE1_OPTIONS",
        {"nodes": 6, "trials": 40, "objects": 2, "max_object_bytes": 300_000},
    )
    page = new_page()
    sign_in(page, "mo", PASSWORD)
    page.goto("/dashboards/storage/")
    expect(page.get_by_test_id("table1-none")).to_be_visible()
    page.get_by_role("button", name="Run the experiment", exact=True).click()
    expect(page.get_by_test_id("table1-progress")).to_be_visible()
    # The page polls the run's status and reloads with the result when it is done.
    expect(page.get_by_test_id("table1-run")).to_contain_text("6 nodes, 40 trials", timeout=120_000)
    expect(page.locator("#chart-table1[data-drawn=true] .main-svg").first).to_be_visible()
    expect(page.get_by_test_id("table-table1")).to_contain_text("Fault tolerance")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "dashboard-storage-table1.png", full_page=True)

"""A member publishes a CSV through the page, follows its progress, and finds the listing by
one of its column names."""

import random

import pytest
from playwright.sync_api import expect

from catalog.synthetic import loans
from conftest import sign_in
from portal.tests.factories import PASSWORD, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def test_publish_follow_progress_and_find_by_column(new_page, celery_worker, settings, tmp_path):
    # Anything over 64 KiB goes through the worker, so the page has progress to show.
    settings.CATALOG_SYNC_BYTES = 64 * 1024
    MembershipFactory(
        user__username="nora", institution__name="Nordic Bank", institution__slug="nordic"
    )
    data = tmp_path / "sme-loans.csv"
    data.write_bytes(loans(random.Random(7), 40_000))

    page = new_page()
    sign_in(page, "nora", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_role("link", name="Publish a dataset").click()
    page.get_by_label("CSV file").set_input_files(str(data))
    page.get_by_label("Title").fill("Nordic SME loans")
    page.get_by_label("Description").fill("Loans to small firms, one row per loan.")
    page.get_by_label("Category").select_option("loans")
    page.get_by_label("Sensitivity").select_option("internal")
    page.get_by_label("Terms of use").fill("Credit-risk modelling only.")
    page.get_by_label("Tags").fill("loans, sme")
    # The upload page follows the worker's checking and storing, then opens the listing. The
    # worker may be done before the browser could look at the page (it then moves on at its
    # first poll), so the page's status is read from the page as it was served.
    with page.expect_response("**/catalog/uploads/**") as served:
        page.get_by_role("button", name="Publish").click()
    assert 'role="status"' in served.value.text()
    page.wait_for_url("**/catalog/*/", timeout=60_000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Nordic SME loans")
    expect(page.get_by_test_id("row-count")).to_have_text("40000")
    expect(page.get_by_test_id("schema")).to_contain_text("rate_pct")
    expect(page.get_by_test_id("preview")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Catalog").click()
    page.get_by_role("searchbox", name="Search the catalog").fill("rate_pct")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("listing")).to_have_count(1)
    expect(page.get_by_test_id("listing")).to_contain_text("Nordic SME loans")

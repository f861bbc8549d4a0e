"""The whole journey in a real browser, three people: omar asks for a restricted dataset, mod
clears it, sam approves a narrower view with a mask (his first try, with a bad extra condition,
is refused and keeps what he chose), omar downloads and the file holds just that view, sam
revokes, and omar's next download is refused with the reason."""

import csv
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from access.models import Grant
from catalog.models import Dataset
from conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_request_clear_approve_download_revoke(new_page, settings):
    call_command("load_demo", quiet=True)
    cards = Dataset.objects.get(title="Card transactions, first half of 2025")
    password = settings.DEMO_PASSWORD

    omar = new_page()
    sign_in(omar, "omar", password)
    omar.goto(f"/catalog/{cards.pk}/")
    omar.get_by_test_id("request-access").locator("summary").click()
    omar.get_by_label("Purpose").fill("Study card fraud patterns that precede insurance claims.")
    omar.get_by_label("Row filter").fill("amount >> 3")
    expect(omar.get_by_test_id("filter-check")).to_contain_text("expected a value for “amount”")
    omar.get_by_label("Row filter").fill("amount > 1")
    expect(omar.get_by_test_id("filter-check")).to_contain_text("Understood as: amount > 1")
    omar.get_by_label("Duration in days").fill("30")
    omar.get_by_role("button", name="Request access").click()
    expect(omar.get_by_test_id("request-state")).to_have_text("Waiting for a moderator")
    request_url = omar.url

    mod = new_page()
    sign_in(mod, "mod", password)
    mod.get_by_role("navigation", name="Main").get_by_role("link", name="Moderation").click()
    expect(mod.get_by_test_id("queue")).to_contain_text(cards.title)
    mod.goto(request_url)
    mod.get_by_role("button", name="Clear").click()
    expect(mod.get_by_test_id("request-state")).to_have_text("Waiting for the owner's decision")

    sam = new_page()
    sign_in(sam, "sam", password)
    sam.goto(request_url)
    sam.locator("#col-flagged_fraud").uncheck()
    sam.locator("#col-currency").uncheck()
    sam.get_by_label("Mask for card_holder").select_option("pseudonymize")
    sam.get_by_label("Extra row condition").fill("amount >> 3")
    sam.get_by_role("button", name="Approve").click()
    # Refused, and the form is as he left it: the withheld columns are not ticked again.
    expect(sam.locator("#extra_filter_error")).to_contain_text("expected a value for “amount”")
    expect(sam.locator("#col-flagged_fraud")).not_to_be_checked()
    expect(sam.locator("#col-currency")).not_to_be_checked()
    expect(sam.locator("#col-card_holder")).to_be_checked()
    expect(sam.get_by_label("Mask for card_holder")).to_have_value("pseudonymize")
    expect(sam.get_by_label("Extra row condition")).to_have_value("amount >> 3")
    sam.get_by_label("Extra row condition").fill("")
    sam.get_by_role("button", name="Approve").click()
    expect(sam.get_by_test_id("request-state")).to_have_text("Approved")

    grant = Grant.objects.get(request__dataset=cards, institution__slug="harbor-mutual")
    omar.goto("/access/grants/")
    row = omar.get_by_test_id(f"grant-{grant.pk}")
    row.get_by_label("Format").select_option("csv")
    with omar.expect_download() as info:
        row.get_by_role("button", name="Download").click()
    with open(info.value.path(), newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["txn_id", "card_holder", "at", "merchant_category", "amount"]
    assert len(rows) > 10
    assert all(re.fullmatch(r"[0-9a-f]{16}", r[1]) for r in rows[1:])
    assert all(float(r[4]) > 1 for r in rows[1:])
    download = grant.downloads.get()
    import hashlib

    with open(info.value.path(), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() == download.sha256

    sam.goto("/access/grants/")
    sam_row = sam.get_by_test_id(f"grant-{grant.pk}")
    sam_row.locator("summary", has_text="Revoke").click()
    sam_row.get_by_label("Why").fill("The study ended early.")
    sam_row.get_by_role("button", name="Revoke").click()
    expect(sam.get_by_test_id(f"grant-{grant.pk}")).to_contain_text("revoked")

    omar.goto("/access/grants/")
    expect(
        omar.get_by_test_id(f"grant-{grant.pk}").get_by_role("button", name="Download")
    ).to_have_count(0)
    refused = omar.request.get(f"/access/grants/{grant.pk}/download/?format=csv")
    assert refused.status == 403
    assert "The study ended early." in refused.text()

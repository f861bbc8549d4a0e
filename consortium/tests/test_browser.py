"""Two people sign in through a real browser and each sees the home page of their role."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_staff_and_moderator_each_see_their_own_home(new_page, settings):
    call_command("load_demo", quiet=True)

    nina = new_page()
    sign_in(nina, "nina", settings.DEMO_PASSWORD)
    expect(nina.get_by_role("heading", level=1)).to_have_text("Welcome, Nina Novak")
    expect(nina.get_by_role("heading", name="Northbank")).to_be_visible()
    expect(nina.get_by_text("Moderation")).to_have_count(0)
    nina.get_by_role("link", name="People in your institution").click()
    expect(nina.get_by_test_id("member-sam")).to_contain_text("Steward")

    mod = new_page()
    sign_in(mod, "mod", settings.DEMO_PASSWORD)
    expect(mod.get_by_role("heading", name="Moderation")).to_be_visible()
    expect(mod.get_by_role("heading", name="Northbank")).to_have_count(0)
    mod.get_by_role("navigation", name="Main").get_by_role("link", name="Institutions").click()
    expect(mod.get_by_role("row")).to_have_count(5)  # a header and four institutions

    # Nina cannot reach Harbor Mutual's people, even by typing the address.
    nina.goto("/institutions/harbor-mutual/")
    expect(
        nina.get_by_text("Only people of Harbor Mutual can see who works there.")
    ).to_be_visible()


def test_wrong_password_is_told_plainly(new_page, settings):
    call_command("load_demo", quiet=True)
    page = new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("nina")
    page.get_by_label("Password").fill("not-her-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")

"""A staff member answers the effect survey in a browser; the manager's dashboard changes."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from conftest import sign_in, wait_for
from surveys.demo import EFFECT_TITLE
from surveys.models import Survey

pytestmark = [
    pytest.mark.browser,
    pytest.mark.celery,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]


def test_staff_answers_and_the_managers_dashboard_changes(new_page, celery_worker, settings):
    settings.SURVEY_REBUILD_DELAY_SECONDS = 0.5
    call_command("load_demo", quiet=True)
    survey = Survey.objects.get(title=EFFECT_TITLE)

    maya = new_page()
    sign_in(maya, "maya", settings.DEMO_PASSWORD)
    maya.get_by_role("link", name=f"Table 2: {EFFECT_TITLE} (answers)").click()
    expect(maya.get_by_test_id("table2")).to_be_visible()
    expect(maya.get_by_test_id("row-1")).to_have_text("Lower the cost4545%")
    expect(maya.get_by_test_id("group-total")).to_have_text("100")
    # Figure 2, drawn by the plotly.js the portal serves itself.
    expect(maya.locator("#survey-chart[data-drawn=true] .main-svg").first).to_be_visible()

    nina = new_page()
    sign_in(nina, "nina", settings.DEMO_PASSWORD)
    expect(nina.get_by_role("link", name="Surveys waiting for your answer")).to_be_visible()
    nina.get_by_role("navigation", name="Main").get_by_role("link", name="Surveys").click()
    nina.get_by_role("link", name=EFFECT_TITLE).click()
    nina.get_by_label("Other").check()
    nina.get_by_role("button", name="Send my answer").click()
    expect(nina.get_by_role("alert")).to_contain_text("please say what you mean")
    nina.get_by_label("Strengthen communication").check()
    nina.get_by_role("button", name="Send my answer").click()
    expect(nina.get_by_role("status")).to_contain_text("Your answer is saved")
    expect(nina.get_by_test_id("your-answer")).to_contain_text("Strengthen communication")

    def dashboard_changed() -> bool:
        maya.reload()
        return maya.get_by_test_id("group-total").inner_text() == "101"

    wait_for(dashboard_changed, timeout=30, interval=0.5)
    expect(maya.get_by_test_id("row-3")).to_have_text("Strengthen communication2727%")
    expect(maya.get_by_test_id("snapshot-time")).to_contain_text("101 answers in all")
    assert survey.answers.filter(user__username="nina").count() == 1

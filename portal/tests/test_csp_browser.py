"""Content-Security-Policy (issue 14, finding 8): every main page, as the role that uses it, in
Chromium, with the policy enforced. A page fails on any `securitypolicyviolation` event, any
console message about the Content Security Policy, any script error, and charts not drawn.
"""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.effectiveDirective + " blocked " + (e.blockedURI || "inline") +
    " at " + (e.sourceFile || location.pathname) + ":" + e.lineNumber);
});
"""


class Watched:
    """A signed-in browser page that records every CSP violation and script error."""

    def __init__(self, page):  # type: ignore[no-untyped-def]
        self.page = page
        self.problems: list[str] = []
        page.add_init_script(WATCH)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))

    def _console(self, message):  # type: ignore[no-untyped-def]
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.problems.append(f"{self.page.url}: console: {message.text}")

    def visit(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        policy = response.headers.get("content-security-policy", "")
        assert "object-src 'none'" in policy, (path, policy)
        assert "frame-ancestors 'none'" in policy, (path, policy)

    def check(self, path: str) -> None:
        self.page.wait_for_load_state("networkidle")
        self.problems += [f"{path}: {v}" for v in self.page.evaluate("window.__csp || []")]
        assert not self.problems, "\n".join(self.problems)


def _charts_drawn(watched: Watched) -> None:
    charts = watched.page.locator("[id^=chart-]")
    assert charts.count() > 0
    for n in range(charts.count()):
        expect(charts.nth(n)).to_have_attribute("data-drawn", "true")
        expect(charts.nth(n).locator(".main-svg").first).to_be_visible()


@pytest.fixture
def demo(settings):  # type: ignore[no-untyped-def]
    from consortium.models import ApiToken
    from ledger.services import append_all, seal_block_if_due
    from surveys.models import Survey
    from surveys.services import snapshot_rebuild

    call_command("load_demo", quiet=True)
    append_all()
    seal_block_if_due(force=True)
    for survey in Survey.objects.all():
        snapshot_rebuild(survey_id=survey.pk)
    return {"password": settings.DEMO_PASSWORD, "tokens": ApiToken}


def _as(new_page, username: str, password: str) -> Watched:  # type: ignore[no-untyped-def]
    watched = Watched(new_page())
    sign_in(watched.page, username, password)
    return watched


def test_the_sign_in_pages_keep_the_policy(new_page):
    watched = Watched(new_page())
    for path in ["/accounts/login/", "/accounts/password_reset/"]:
        watched.visit(path)
        watched.check(path)


def test_a_members_pages_keep_the_policy(new_page, demo):
    from catalog.models import Dataset
    from surveys.models import Survey

    nina = _as(new_page, "nina", demo["password"])
    own = Dataset.objects.filter(institution__slug="northbank").first()
    other = Dataset.objects.exclude(institution__slug="northbank").first()
    survey = Survey.objects.first()
    for path in [
        "/",
        "/catalog/",
        f"/catalog/{own.pk}/",
        "/catalog/publish/",
        "/access/requests/",
        "/access/grants/",
        "/access/notifications/",
        "/institutions/",
        "/ledger/",
        "/ledger/blocks/0/",
        "/surveys/",
        f"/surveys/{survey.pk}/",
    ]:
        nina.visit(path)
        nina.check(path)

    # The listing's request form checks the row filter as one types (static script, no inline).
    nina.visit(f"/catalog/{other.pk}/")
    nina.page.get_by_test_id("request-access").locator("summary").click()
    nina.page.get_by_label("Row filter").fill("no_such_column = 1")
    expect(nina.page.get_by_test_id("filter-check")).not_to_be_empty()
    nina.check(f"/catalog/{other.pk}/")
    nina.visit(f"/access/datasets/{other.pk}/request/")
    nina.check("request form")

    # An entry checks its own inclusion proof in the browser (ledger/verify.js).
    nina.visit("/ledger/entries/0/")
    nina.page.get_by_role("button", name="Check the proof in this browser").click()
    expect(nina.page.locator("#verify-result")).to_contain_text("Proof checked")
    nina.check("/ledger/entries/0/")

    # The API tokens page, a token made there and its revocation.
    nina.visit("/accounts/tokens/")
    nina.page.get_by_label("Name (optional)").fill("csp check")
    nina.page.get_by_role("button", name="Create a token").click()
    expect(nina.page.get_by_test_id("token-secret")).to_be_visible()
    nina.page.get_by_role("link", name="Revoke…").first.click()
    nina.page.get_by_test_id("confirm-revoke").click()
    expect(nina.page.get_by_role("status")).to_contain_text("was revoked")
    nina.check("/accounts/tokens/")

    # The API docs: Swagger UI served from our files, under its own narrow policy.
    nina.visit("/api/docs/")
    expect(nina.page.locator(".swagger-ui .info .title")).to_contain_text("BIZi portal API")
    nina.check("/api/docs/")


def test_the_managers_dashboards_and_results_keep_the_policy_and_draw(new_page, demo):
    from surveys.models import Survey

    maya = _as(new_page, "maya", demo["password"])
    for path in ["/dashboards/usage/", "/dashboards/storage/", "/dashboards/ledger/"]:
        maya.visit(path)
        _charts_drawn(maya)
        maya.check(path)
    survey = Survey.objects.first()
    path = f"/surveys/{survey.pk}/results/"
    maya.visit(path)
    expect(maya.page.locator("#survey-chart[data-drawn=true] .main-svg").first).to_be_visible()
    maya.check(path)


def test_a_moderators_pages_keep_the_policy(new_page, demo):
    mod = _as(new_page, "mod", demo["password"])
    for path in ["/access/moderation/", "/access/decisions/", "/admin/"]:
        mod.visit(path)
        mod.check(path)

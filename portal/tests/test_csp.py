"""Content-Security-Policy headers (issue 14, finding 8), without a browser.

The browser test (test_csp_browser.py) checks pages keep the policy; these check the policy
itself, the Swagger UI's narrow addition, that no template carries inline script or style, and
that the plotly.js stylesheet still matches the installed plotly.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from surveys import plotlycss

pytestmark = pytest.mark.django_db

ROOT = Path(settings.BASE_DIR)


def _policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {p.split()[0]: " ".join(p.split()[1:]) for p in header.split(";") if p.strip()}


def test_every_page_gets_the_strict_policy(cast, client):
    client.force_login(cast.bob.user)
    policy = _policy(client.get(reverse("home")))
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'self'"
    assert "unsafe" not in client.get(reverse("home"))["Content-Security-Policy"]


def test_the_sign_in_page_and_the_api_get_it_too(cast, client, api):
    assert "object-src 'none'" in client.get(reverse("login"))["Content-Security-Policy"]
    api.force_authenticate(cast.bob.user)
    assert "frame-ancestors 'none'" in api.get(reverse("api-me"))["Content-Security-Policy"]


def test_the_api_docs_add_data_images_only_and_load_their_script_from_a_file(client):
    response = client.get(reverse("api-docs"))
    policy = _policy(response)
    assert policy["img-src"] == "'self' data:"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    html = response.content.decode()
    assert "<style" not in html
    assert re.search(r"<script>", html) is None  # every script has a src
    script = client.get(reverse("api-docs") + "?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


INLINE = re.compile(
    r"<script(?![^>]*\b(src|type=\"application/json\")\b)[^>]*>|<style|\sstyle=|\son[a-z]+="
)


@pytest.mark.parametrize("folder", ["templates", "portal", "ledger", "surveys", "storage"])
def test_no_template_has_inline_script_style_or_handlers(folder):
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / folder).rglob("*.html")
        if INLINE.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_plotly_stylesheet_matches_the_installed_plotly():
    assert plotlycss.CSS_PATH.read_text(encoding="utf-8") == plotlycss.current(), (
        "plotly changed: run `python -m surveys.plotlycss` and commit its plotly.css"
    )
    assert "plotly.js-style-global" in plotlycss.page_ids()


def test_chart_pages_link_plotlys_styles_before_plotly_loads(cast, client):
    client.force_login(cast.meg)
    html = client.get(reverse("dashboard-usage")).content.decode()
    link = html.index('id="plotly.js-style-global" class="no-inline-styles"')
    assert link < html.index("plotly.min.js")

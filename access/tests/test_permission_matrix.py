"""Every page and API endpoint of access × every persona × own / other institution.

Acme (alice steward, bob staff) owns the listings; Beta (carol steward, dave staff) asks.
`moderated` waits for a moderator, `pending` for Acme's decision, `grant` is Beta's grant; a
third listing takes new requests. Each case runs on fresh data and asserts the exact status:
404 where the object is not visible at all, 403 where it is but the action is not theirs.
"""

import pytest
from django.urls import reverse

from access import services

pytestmark = pytest.mark.django_db

PERSONAS = ["alice", "bob", "carol", "dave", "mo", "meg", "aud"]


def _user(cast, name):  # type: ignore[no-untyped-def]
    value = getattr(cast, name)
    return getattr(value, "user", value)


@pytest.fixture
def world(cast, listing, ask):  # type: ignore[no-untyped-def]
    moderated = ask(listing("confidential"))
    pending = ask(listing("internal"))
    grant = services.access_request_approve(
        user=cast.alice.user, request=ask(listing("internal"), user=cast.carol.user)
    )
    fresh = listing("internal")
    return {"moderated": moderated, "pending": pending, "grant": grant, "fresh": fresh}


def _row(expected: dict[str, int] | int, **overrides: int) -> dict[str, int]:
    base = dict.fromkeys(PERSONAS, expected) if isinstance(expected, int) else dict(expected)
    base.update(overrides)
    return base


VISIBLE = _row(200, meg=404, aud=404)  # the two institutions and the moderator
MODERATE = _row(403, mo=200, meg=404, aud=404)
DECIDE = _row(403, alice=200, meg=404, aud=404)
WITHDRAW = _row(403, carol=200, dave=200, meg=404, aud=404)
REVOKE = _row(403, alice=200, mo=200, meg=404, aud=404)
DOWNLOAD = _row(403, carol=200, dave=200, meg=404, aud=404)
REQUEST = _row(403, carol=201, dave=201)

# (name, method, url(world), data, expected by persona)
API = [
    ("list requests", "get", lambda w: "/api/v1/requests/", None, _row(200)),
    ("create request", "post", lambda w: "/api/v1/requests/", "create", REQUEST),
    ("request", "get", lambda w: f"/api/v1/requests/{w['pending'].pk}/", None, VISIBLE),
    ("clear", "post", lambda w: f"/api/v1/requests/{w['moderated'].pk}/clear/", {}, MODERATE),
    (
        "reject",
        "post",
        lambda w: f"/api/v1/requests/{w['moderated'].pk}/reject/",
        {"reason": "Too broad."},
        MODERATE,
    ),
    (
        "approve",
        "post",
        lambda w: f"/api/v1/requests/{w['pending'].pk}/approve/",
        {},
        _row(DECIDE, alice=201),
    ),
    (
        "deny",
        "post",
        lambda w: f"/api/v1/requests/{w['pending'].pk}/deny/",
        {"reason": "No."},
        DECIDE,
    ),
    ("withdraw", "post", lambda w: f"/api/v1/requests/{w['pending'].pk}/withdraw/", {}, WITHDRAW),
    ("list grants", "get", lambda w: "/api/v1/grants/", None, _row(200)),
    ("grant", "get", lambda w: f"/api/v1/grants/{w['grant'].pk}/", None, VISIBLE),
    (
        "revoke",
        "post",
        lambda w: f"/api/v1/grants/{w['grant'].pk}/revoke/",
        {"reason": "Ended."},
        REVOKE,
    ),
    ("data", "get", lambda w: f"/api/v1/grants/{w['grant'].pk}/data/?format=csv", None, DOWNLOAD),
    ("downloads", "get", lambda w: f"/api/v1/grants/{w['grant'].pk}/downloads/", None, VISIBLE),
]

PAGES = [
    ("my requests", "get", lambda w: reverse("access-requests"), None, _row(200)),
    (
        "request page",
        "get",
        lambda w: reverse("access-request", args=[w["pending"].pk]),
        None,
        VISIBLE,
    ),
    ("queue", "get", lambda w: reverse("access-moderation"), None, _row(403, mo=200)),
    ("decisions", "get", lambda w: reverse("access-decisions"), None, _row(200)),
    (
        "request form",
        "get",
        lambda w: reverse("access-request-new", args=[w["fresh"].pk]),
        None,
        _row(403, carol=200, dave=200),
    ),
    (
        "send request",
        "post",
        lambda w: reverse("access-request-new", args=[w["fresh"].pk]),
        "create-form",
        _row(403, carol=302, dave=302),
    ),
    (
        "filter check",
        "post",
        lambda w: reverse("access-filter-check", args=[w["fresh"].pk]),
        {"filter": "loan_id > 1"},
        _row(200),
    ),
    (
        "clear",
        "post",
        lambda w: reverse("access-request-clear", args=[w["moderated"].pk]),
        {},
        _row(MODERATE, mo=302),
    ),
    (
        "reject",
        "post",
        lambda w: reverse("access-request-reject", args=[w["moderated"].pk]),
        {"reason": "No."},
        _row(MODERATE, mo=302),
    ),
    (
        "approve",
        "post",
        lambda w: reverse("access-request-approve", args=[w["pending"].pk]),
        {"columns": ["loan_id"]},
        _row(DECIDE, alice=302),
    ),
    (
        "deny",
        "post",
        lambda w: reverse("access-request-deny", args=[w["pending"].pk]),
        {"reason": "No."},
        _row(DECIDE, alice=302),
    ),
    (
        "withdraw",
        "post",
        lambda w: reverse("access-request-withdraw", args=[w["pending"].pk]),
        {},
        _row(WITHDRAW, carol=302, dave=302),
    ),
    ("grants", "get", lambda w: reverse("grants"), None, _row(200)),
    (
        "download",
        "get",
        lambda w: reverse("grant-download", args=[w["grant"].pk]) + "?format=parquet",
        None,
        DOWNLOAD,
    ),
    (
        "revoke",
        "post",
        lambda w: reverse("grant-revoke", args=[w["grant"].pk]),
        {"reason": "Ended."},
        _row(REVOKE, alice=302, mo=302),
    ),
    ("notifications", "get", lambda w: reverse("notifications"), None, _row(200)),
    ("mark read", "post", lambda w: reverse("notifications"), {}, _row(302)),
]


def _data(world, data):  # type: ignore[no-untyped-def]
    version = world["fresh"].current_version
    if data == "create":
        return {
            "dataset": world["fresh"].pk,
            "purpose": "Benchmark default rates of small business loans.",
            "columns": version.column_names[:2],
            "duration_days": 30,
        }
    if data == "create-form":
        return {
            "purpose": "Benchmark default rates of small business loans.",
            "columns": version.column_names[:2],
            "filter": "loan_id > 1",
            "duration_days": "30",
        }
    return data


def _consume(response):  # type: ignore[no-untyped-def]
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    return response.status_code


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "method", "url", "data", "expected"), API, ids=[a[0] for a in API]
)
def test_api(cast, api, world, persona, name, method, url, data, expected):
    api.force_authenticate(_user(cast, persona))
    call = getattr(api, method)
    kwargs = {"format": "json"} if method == "post" else {}
    response = (
        call(url(world), _data(world, data), **kwargs) if data is not None else call(url(world))
    )
    assert _consume(response) == expected[persona], response.content[:300]


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(
    ("name", "method", "url", "data", "expected"), PAGES, ids=[p[0] for p in PAGES]
)
def test_pages(cast, client, world, persona, name, method, url, data, expected):
    client.force_login(_user(cast, persona))
    call = getattr(client, method)
    response = call(url(world), _data(world, data)) if data is not None else call(url(world))
    assert _consume(response) == expected[persona]


def test_lists_are_scoped(cast, api, world):
    seen = {}
    for persona in PERSONAS:
        api.force_authenticate(_user(cast, persona))
        requests = api.get("/api/v1/requests/").json()["results"]
        grants = api.get("/api/v1/grants/").json()["results"]
        seen[persona] = (len(requests), len(grants))
    assert seen == {
        "alice": (3, 1),
        "bob": (3, 1),
        "carol": (3, 1),
        "dave": (3, 1),
        "mo": (3, 1),
        "meg": (0, 0),
        "aud": (0, 0),
    }


def test_a_third_institution_sees_nothing(cast, api, world):
    from portal.tests.factories import InstitutionFactory, MembershipFactory

    outsider = MembershipFactory(
        user__username="olga", institution=InstitutionFactory(), steward=True
    )
    api.force_authenticate(outsider.user)
    assert api.get(f"/api/v1/requests/{world['pending'].pk}/").status_code == 404
    assert api.get(f"/api/v1/grants/{world['grant'].pk}/data/").status_code == 404
    assert api.get("/api/v1/requests/").json()["results"] == []


def test_anonymous_gets_401_from_the_api_and_the_login_page(client, api, world):
    assert api.get("/api/v1/requests/").status_code == 401
    assert api.get(f"/api/v1/grants/{world['grant'].pk}/data/").status_code == 401
    for name in ("access-requests", "grants", "access-moderation", "notifications"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

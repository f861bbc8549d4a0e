"""The cached home page, API lists and user lookups: reused, but never stale and never leaked.

Each test first shows that the second read is a cache hit (no queries), so that what follows
tests the cache and not a page that happened to be rendered afresh.
"""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpRequest
from django.middleware.csrf import _unmask_cipher_token  # type: ignore[attr-defined]
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consortium.services import membership_set_role
from portal import cache_versions, cached_pages
from portal.health import heartbeat_record
from portal.tests.factories import InstitutionFactory, MembershipFactory
from surveys.tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db

WAITING = "Requests awaiting your decision"
PEOPLE = "People in your institution"
ACTIVE = "Active grants to your institution"
TOKEN_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def home_page(client: Client) -> str:
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def item_count(page: str, label: str) -> int:
    found = re.search(re.escape(label) + r'</a> <strong class="count">(\d+)</strong>', page)
    assert found, f"{label!r} is not on the page"
    return int(found.group(1))


def cached_home_page(client: Client) -> str:
    """The home page, asserting that it came from the cache."""
    with CaptureQueriesContext(connection) as queries:
        page = home_page(client)
    assert len(queries) == 0, [q["sql"] for q in queries]
    return page


def test_a_second_visit_is_served_from_the_cache(cast, client):
    client.force_login(cast.alice.user)
    first = home_page(client)
    second = cached_home_page(client)
    assert TOKEN_FIELD.sub("", first) == TOKEN_FIELD.sub("", second)
    assert item_count(second, PEOPLE) == 2


@pytest.mark.django_db(transaction=True)
def test_committed_changes_show_at_once_and_rolled_back_ones_never(cast, client):
    # Real commits here: the version moves at the write and again when the transaction commits.
    client.force_login(cast.alice.user)
    home_page(client)
    assert item_count(cached_home_page(client), PEOPLE) == 2
    with pytest.raises(RuntimeError), transaction.atomic():
        MembershipFactory(institution=cast.acme)
        raise RuntimeError("roll back")
    assert item_count(home_page(client), PEOPLE) == 2
    assert item_count(cached_home_page(client), PEOPLE) == 2
    before = cache_versions.versions(["consortium"])
    with transaction.atomic():
        MembershipFactory(institution=cast.acme)
        during = cache_versions.versions(["consortium"])
        assert during != before  # this connection's own next read misses
    # A reader elsewhere may have stored the old rows under `during`: never read again.
    assert cache_versions.versions(["consortium"]) not in {before, during}
    assert item_count(home_page(client), PEOPLE) == 3


def _whoami(user) -> str:
    return f'data-testid="whoami">{user.get_full_name()}<'


def test_one_persons_page_is_never_served_to_another(cast, client):
    alice, bob = cast.alice.user, cast.bob.user
    client.force_login(alice)
    assert _whoami(alice) in home_page(client)
    client.force_login(bob)
    page = home_page(client)
    assert _whoami(bob) in page and _whoami(alice) not in page
    assert _whoami(bob) in cached_home_page(client)
    # Even an entry found under the wrong key (a collision, a bug) is refused.
    alices = cached_pages._Entry(alice.pk, b"ALICE'S PAGE", "text/html", None)
    with mock.patch.object(cache_versions, "lookup", return_value=("bizi:x", alices)):
        page = home_page(client)
    assert "ALICE'S PAGE" not in page and _whoami(bob) in page


def test_each_cached_page_gets_a_fresh_csrf_token_that_works(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice.user)
    home_page(client)
    tokens = [TOKEN_FIELD.search(cached_home_page(client)).group(1) for _ in range(2)]
    assert tokens[0] != tokens[1]  # masked afresh, as a rendered page would be
    secret = client.cookies["csrftoken"].value
    assert all(_unmask_cipher_token(t) == secret for t in tokens)
    assert cached_pages._placeholder().decode() not in home_page(client)
    assert client.post(reverse("logout"), {"csrfmiddlewaretoken": tokens[1]}).status_code == 302


def test_a_page_with_a_message_shows_it_once_and_is_not_cached(cast, client):
    client.force_login(cast.alice.user)
    home_page(client)
    storage = CookieStorage(HttpRequest())
    client.cookies["messages"] = storage._encode([Message(constants.SUCCESS, "Role changed.")])
    assert "Role changed." in home_page(client)
    assert "Role changed." not in cached_home_page(client)


def test_nothing_is_cached_for_anonymous_visitors(client):
    assert client.get(reverse("home")).status_code == 302
    assert not any("bizi:page" in key for key in cache._cache)


def test_a_survey_opening_by_the_clock_shows_at_once(cast, client):
    opens = timezone.now() + timedelta(minutes=5)
    SurveyFactory(opens_at=opens, closes_at=opens + timedelta(days=1))
    client.force_login(cast.bob.user)
    home_page(client)
    assert item_count(cached_home_page(client), "Surveys waiting for your answer") == 0
    with mock.patch("django.utils.timezone.now", return_value=opens + timedelta(seconds=1)):
        assert item_count(home_page(client), "Surveys waiting for your answer") == 1


def test_a_role_change_shows_at_once(cast, client):
    client.force_login(cast.bob.user)
    page = home_page(client)
    assert "Members whose roles you manage" not in cached_home_page(client)
    membership_set_role(by=cast.alice.user, membership=cast.bob, role="steward")
    page = home_page(client)
    assert "Members whose roles you manage" in page


def test_a_disabled_account_is_signed_out_at_once(cast, client):
    client.force_login(cast.bob.user)
    home_page(client)
    cached_home_page(client)  # the user is cached too
    cast.bob.user.is_active = False
    cast.bob.user.save(update_fields=["is_active"])
    assert client.get(reverse("home")).status_code == 302


def test_a_password_changed_elsewhere_ends_the_session_at_once(cast, client):
    client.force_login(cast.bob.user)
    home_page(client)
    cached_home_page(client)
    cast.bob.user.set_password("an-entirely-new-passphrase")
    cast.bob.user.save(update_fields=["password"])
    assert client.get(reverse("home")).status_code == 302


def _each_version() -> dict[str, str | None]:
    return {name: cache_versions.versions([name]) for name in cache_versions.SECTIONS}


def test_writes_no_page_shows_bump_no_section(cast, client):
    client.force_login(cast.alice.user)
    before = _each_version()
    heartbeat_record(name="celery", hostname="worker-1")
    client.session.save()
    client.force_login(cast.bob.user)  # saves `last_login` only
    assert _each_version() == before


def test_a_change_bumps_its_own_section_only(cast, client):
    before = _each_version()
    InstitutionFactory(name="Gamma Pay", slug="gamma")
    after = _each_version()
    assert after["consortium"] != before["consortium"]
    assert {k: v for k, v in after.items() if k != "consortium"} == {
        k: v for k, v in before.items() if k != "consortium"
    }


def test_every_section_table_is_a_table_of_the_portal():
    from django.apps import apps

    tables = {m._meta.db_table for m in apps.get_models(include_auto_created=True)}
    for name, section in cache_versions.SECTION_TABLES.items():
        assert section <= tables, (name, sorted(section - tables))


def test_a_request_reads_each_version_once_and_sees_its_own_bumps():
    # The receivers of request_started and request_finished, called as the handler would
    # (sending the signals would also close the test's database connection).
    cache_versions._request_started()
    try:
        first = cache_versions.versions(["access"])
        cache.set("bizi:version:access", "changed elsewhere", timeout=None)
        assert cache_versions.versions(["access"]) == first  # as of the request's start
        cache_versions.bump("access")  # this request's own change
        assert cache_versions.versions(["access"]) not in {first, "changed elsewhere"}
    finally:
        cache_versions._request_finished()
    cache.set("bizi:version:access", "changed elsewhere", timeout=None)
    assert cache_versions.versions(["access"]) == "changed elsewhere"  # outside a request


def test_a_missing_version_is_never_an_old_one(cast, client):
    client.force_login(cast.alice.user)
    home_page(client)
    first = cache_versions.versions(["consortium"])
    cache.delete("bizi:version:consortium")  # evicted
    assert cache_versions.versions(["consortium"]) not in {None, first}


def test_a_per_process_cache_caches_no_pages_unless_told(settings):
    from django.conf import settings as live

    assert live.BIZI_PAGE_CACHE  # the tests' process is alone, and says so (conftest)
    settings.BIZI_PAGE_CACHE = False
    assert cache_versions.versions(["consortium"]) is None


def test_institution_list_is_cached_and_shows_a_new_institution_at_once(cast, api):
    api.force_authenticate(cast.bob.user)
    url = reverse("api-institutions")
    assert api.get(url).json()["count"] == 2
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url).json()["count"] == 2
    assert len(queries) <= 1  # the roles of a force-authenticated user; no list, no count
    InstitutionFactory(name="Gamma Pay", slug="gamma")
    names = [row["name"] for row in api.get(url).json()["results"]]
    assert "Gamma Pay" in names


def test_cached_lists_are_per_url_and_per_host(cast, api):
    api.force_authenticate(cast.bob.user)
    url = reverse("api-institutions")
    one = api.get(url, {"page_size": 1}).json()
    assert len(one["results"]) == 1 and one["next"].startswith("http://testserver/")
    assert len(api.get(url).json()["results"]) == 2
    other = api.get(url, {"page_size": 1}, HTTP_HOST="localhost").json()
    assert other["next"].startswith("http://localhost/")
    assert api.get(url, {"kind": "insurer"}).json()["count"] == 1


def test_a_cached_list_answers_as_a_computed_one(cast, api):
    api.force_authenticate(cast.bob.user)
    url = reverse("api-institutions")
    computed, cached = api.get(url), api.get(url)
    assert cached.content == computed.content
    for header in ("Content-Type", "Allow", "Vary", "X-Frame-Options"):
        assert cached.get(header) == computed.get(header), header
    indented = api.get(url, HTTP_ACCEPT="application/json; indent=4")
    assert indented.content.startswith(b"{\n    ") and not cached.content.startswith(b"{\n")


def test_cached_lists_are_per_person(cast, api):
    url = reverse("api-institutions")
    api.force_authenticate(cast.bob.user)
    assert api.get(url).json()["count"] == 2
    # Even bob's entry found under dave's key (a collision, a bug) is refused.
    bobs = cached_pages._Entry(
        cast.bob.user.pk, b'{"count": 99, "results": []}', "application/json"
    )
    api.force_authenticate(cast.dave.user)
    with mock.patch.object(cache_versions, "lookup", return_value=("bizi:x", bobs)):
        assert api.get(url).json()["count"] == 2

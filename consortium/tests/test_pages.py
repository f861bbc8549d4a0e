import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("alice", ["Acme Bank", "Members whose roles you manage"]),
        ("bob", ["Acme Bank", "People in your institution"]),
        ("mo", ["Moderation", "Member institutions"]),
        ("meg", ["Consortium at a glance"]),
        ("aud", ["Audit", "verify from your own machine", "Entries in the ledger"]),
    ],
)
def test_home_shows_what_waits_for_each_role(cast, client, persona, expected):
    user = getattr(cast, persona)
    client.force_login(getattr(user, "user", user))
    page = client.get(reverse("home")).content.decode()
    for text in expected:
        assert text in page
    if persona == "bob":
        assert "Members whose roles you manage" not in page
    if persona == "meg":
        assert "Moderation" not in page


def test_home_query_count_does_not_grow_with_members(cast, client):
    client.force_login(cast.alice.user)
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("home"))
    for _ in range(20):
        MembershipFactory(institution=cast.acme)
    with CaptureQueriesContext(connection) as after:
        client.get(reverse("home"))
    assert len(after) == len(before)


def test_institution_page_query_count_is_constant(cast, client):
    client.force_login(cast.alice.user)
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("institution-detail", args=["acme"]))
    for _ in range(20):
        MembershipFactory(institution=cast.acme)
    with CaptureQueriesContext(connection) as after:
        client.get(reverse("institution-detail", args=["acme"]))
    assert len(after) == len(before)


def test_password_reset_sends_a_working_link(cast, client):
    email = cast.bob.user.email
    client.post(reverse("password_reset"), {"email": email})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/reset/" in line)
    path = link.split("testserver", 1)[1]
    form = client.get(path, follow=True)
    assert form.status_code == 200
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-much-better-pass-2026", "new_password2": "a-much-better-pass-2026"},
    )
    assert response.status_code == 302
    assert client.login(username="bob", password="a-much-better-pass-2026")


def test_password_change_requires_the_old_password(cast, client):
    client.force_login(cast.bob.user)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "wrong",
            "new_password1": "x-new-pass-2026",
            "new_password2": "x-new-pass-2026",
        },
    )
    assert response.status_code == 200
    assert b"Your old password was entered incorrectly" in response.content


def test_sign_out_is_a_post_and_ends_the_session(cast, client):
    client.force_login(cast.bob.user)
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_own_404_and_403_pages(cast, client):
    client.force_login(cast.bob.user)
    missing = client.get("/institutions/no-such-place/")
    assert missing.status_code == 404
    assert b"not yours to see" in missing.content
    refused = client.get(reverse("membership-role", args=[cast.alice.pk]))
    assert refused.status_code == 403
    assert b"Only a steward" in refused.content


def test_api_schema_and_docs_are_served_locally(client):
    schema = client.get(reverse("api-schema"))
    assert schema.status_code == 200
    assert b"/api/v1/auth/token/" in schema.content
    docs = client.get(reverse("api-docs")).content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower()


def test_load_demo_is_idempotent_and_every_user_can_sign_in(client, settings):
    call_command("load_demo", quiet=True)
    call_command("load_demo", quiet=True)
    from django.contrib.auth import get_user_model

    from consortium.models import ConsortiumRole, Institution, Membership

    assert Institution.objects.count() == 4
    assert Membership.objects.count() == 6
    assert ConsortiumRole.objects.count() == 3
    for username in ["nina", "sam", "omar", "hana", "quinn", "erin", "mod", "maya", "ada"]:
        assert get_user_model().objects.filter(username=username).exists()
        assert client.login(username=username, password=settings.DEMO_PASSWORD)
        assert client.get(reverse("home")).status_code == 200


def test_load_demo_is_refused_under_production(settings):
    from django.core.management.base import CommandError

    settings.BIZI_PRODUCTION = True
    with pytest.raises(CommandError, match="refused"):
        call_command("load_demo", quiet=True)

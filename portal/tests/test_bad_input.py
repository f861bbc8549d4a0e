"""Bad input gets a 400 that names the field at fault, never a 500."""

import pytest
from django.urls import reverse

from consortium.lei import lei_problem, lei_with_check_digits
from consortium.models import Institution

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("lei", "expected"),
    [
        ("HWUPKR0MPOU8FGXBT394", None),  # a real LEI
        ("7LTWFZYICNSX8D621K86", None),  # another real LEI
        ("HWUPKR0MPOU8FGXBT395", "check digits"),
        ("HWUPKR0MPOU8FGXBT39", "20 characters"),
        ("hwupkr0mpou8fgxbt394", "capital letters"),
        ("HWUPKR0MPOU8FGXBT3AB", "capital letters"),
    ],
)
def test_lei_check_digits(lei, expected):
    problem = lei_problem(lei)
    if expected is None:
        assert problem is None
    else:
        assert expected in problem


def test_lei_with_check_digits_makes_valid_codes():
    for base in ["5493000NORTHBANK0X", "TEST00000000000001", "HWUPKR0MPOU8FGXBT3"]:
        assert lei_problem(lei_with_check_digits(base)) is None
    assert lei_with_check_digits("HWUPKR0MPOU8FGXBT3") == "HWUPKR0MPOU8FGXBT394"


def test_bad_lei_via_api_answers_400_naming_the_field(cast, api):
    api.force_authenticate(cast.mo)
    response = api.post(
        reverse("api-institutions"),
        {"name": "Gamma", "slug": "gamma", "kind": "bank", "lei": "HWUPKR0MPOU8FGXBT395"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["code"] == "invalid"
    assert "check digits" in body["fields"]["lei"][0]
    assert not Institution.objects.filter(slug="gamma").exists()


def test_good_institution_via_api_is_created_by_moderator_only(cast, api):
    payload = {"name": "Gamma", "slug": "gamma", "kind": "fintech", "lei": "HWUPKR0MPOU8FGXBT394"}
    api.force_authenticate(cast.alice.user)
    assert api.post(reverse("api-institutions"), payload).status_code == 403
    api.force_authenticate(cast.mo)
    response = api.post(reverse("api-institutions"), payload)
    assert response.status_code == 201, response.json()
    assert Institution.objects.get(slug="gamma").kind == "fintech"


def test_bad_json_body_answers_400(cast, api):
    api.force_authenticate(cast.alice.user)
    response = api.generic(
        "PATCH",
        reverse("api-membership", args=[cast.bob.pk]),
        data='{"role": "steward"',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_unknown_role_via_api_answers_400_with_field(cast, api):
    api.force_authenticate(cast.alice.user)
    response = api.patch(reverse("api-membership", args=[cast.bob.pk]), {"role": "king"})
    assert response.status_code == 400
    assert "role" in response.json()["fields"]


def test_bad_form_answers_400_with_the_error_beside_the_field(cast, client):
    client.force_login(cast.alice.user)
    response = client.post(reverse("membership-role", args=[cast.bob.pk]), {"role": "king"})
    assert response.status_code == 400
    assert b'id="id_role-errors"' in response.content
    assert b"Select a valid choice" in response.content


def test_unknown_api_path_answers_json_404(cast, api):
    api.force_authenticate(cast.alice.user)
    response = api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["status"] == 404


def test_bad_page_number_answers_404_not_500(cast, api):
    api.force_authenticate(cast.alice.user)
    assert api.get(reverse("api-institutions") + "?page=999").status_code == 404
    assert api.get(reverse("api-institutions") + "?page=abc").status_code == 404


def test_failed_sign_in_shows_the_form_again(cast, client):
    response = client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content

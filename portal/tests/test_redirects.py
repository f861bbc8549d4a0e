"""Every `next` redirect stays on this site (issue 14, finding 8)."""

import pytest
from django.test import RequestFactory
from django.urls import reverse

from portal.redirects import safe_next

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/access/requests/1/", "/access/requests/1/"),
        ("http://testserver/catalog/", "http://testserver/catalog/"),
        ("https://evil.example/", "/default/"),
        ("//evil.example/x", "/default/"),
        ("/\\evil.example", "/default/"),
        ("javascript:alert(1)", "/default/"),
        ("", "/default/"),
    ],
)
def test_safe_next(target, expected):
    request = RequestFactory().post("/x/", {"next": target})
    assert safe_next(request, "/default/") == expected


def test_revoking_a_grant_never_follows_an_external_next(cast, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from access import services
    from access.tests.conftest import LOANS, META, PURPOSE
    from catalog.services import dataset_upload_start

    upload = dataset_upload_start(
        user=cast.bob.user,
        upload_file=SimpleUploadedFile("l.csv", LOANS),
        metadata={**META, "sensitivity": "internal", "tags": ["loans"]},
    )
    request = services.access_request_create(
        user=cast.dave.user,
        dataset=upload.dataset,
        purpose=PURPOSE,
        columns=["loan_id"],
        duration_days=30,
    )
    grant = services.access_request_approve(user=cast.alice.user, request=request)
    client.force_login(cast.alice.user)
    response = client.post(
        reverse("grant-revoke", args=[grant.pk]),
        {"reason": "Ended early", "next": "https://evil.example/phish"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("grants")

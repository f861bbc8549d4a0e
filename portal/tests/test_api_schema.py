"""The API against its own OpenAPI document (`/api/schema/`), with schemathesis.

Every operation, called with generated input by each persona of the test cast (and by nobody),
answers without a server error, and every answer it documents matches its schema. A few
examples per operation, derandomized, so CI runs the same requests every time; the cast owns a
published listing, a pending request and a grant, so that the ids in the paths reach real rows
now and then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.test import APIClient

from consortium.services import api_token_issue
from portal.tests.fixtures import Cast

# The personas of portal/tests/fixtures.py: a steward and a staff member of each institution,
# the consortium's moderator, manager and auditor. None is nobody (no Authorization header).
PERSONAS = [None, "alice", "bob", "carol", "dave", "mo", "meg", "aud"]

LOANS = (
    b"loan_id,amount,opened,defaulted,region\n"
    b"1,1000.50,2024-01-03,false,north\n"
    b"2,250.00,2024-02-11,true,south\n"
)


@contextmanager
def _connection_kept() -> Iterator[None]:
    """As Django's test client does around each request: a request that ends must not close
    the test's database connection (that would end the test's transaction, and SQLite's
    in-memory database). Per call, because the test client connects the handler back."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db: None) -> Any:
    with _connection_kept():
        return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


def _user(cast: Cast, name: str) -> Any:
    person = getattr(cast, name)
    return getattr(person, "user", person)  # memberships carry their user; roles are users


@pytest.fixture
def world(cast: Cast, api: APIClient) -> None:
    """bob publishes a listing of Acme; dave asks for it twice, and alice approves once."""
    api.force_authenticate(cast.bob.user)
    published = api.post(
        "/api/v1/datasets/",
        {
            "title": "SME loans 2024",
            "description": "Small-business loans opened in 2024, one row per loan.",
            "category": "loans",
            "sensitivity": "internal",
            "terms": "Risk modelling only.",
            "tags": "loans",
            "file": SimpleUploadedFile("loans.csv", LOANS, content_type="text/csv"),
        },
        format="multipart",
    )
    assert published.status_code == 201, published.content
    api.force_authenticate(cast.dave.user)
    asked = {
        "dataset": published.json()["id"],
        "purpose": "Benchmark default rates of small business loans in our region.",
        "columns": ["loan_id", "amount"],
        "duration_days": 30,
    }
    first = api.post("/api/v1/requests/", asked, format="json")
    assert first.status_code == 201, first.content
    api.force_authenticate(cast.alice.user)
    approved = api.post(f"/api/v1/requests/{first.json()['id']}/approve/", {}, format="json")
    assert approved.status_code in (200, 201), approved.content
    api.force_authenticate(cast.carol.user)
    second = api.post("/api/v1/requests/", asked, format="json")
    assert second.status_code == 201, second.content
    api.force_authenticate(None)


@pytest.mark.slow
@pytest.mark.parametrize("persona", PERSONAS, ids=lambda name: name or "nobody")
def test_api_matches_its_schema(
    api_schema: Any, cast: Cast, world: None, persona: str | None, subtests: pytest.Subtests
) -> None:
    # schemathesis' own pytest integration (from_fixture) needs a pytest older than 9: each
    # operation runs here as a Hypothesis test of its own, reported as a subtest.
    def headers() -> dict[str, str]:
        if persona is None:
            return {}
        # A fresh token per call: a call may revoke the one it was sent with.
        _token, secret = api_token_issue(user=_user(cast, persona), name="schemathesis")
        return {"Authorization": f"Bearer {secret}"}

    for result in api_schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=3,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            with _connection_kept():
                case.call_and_validate(
                    headers=headers(),
                    checks=[
                        schemathesis.checks.not_a_server_error,
                        schemathesis.checks.response_schema_conformance,
                    ],
                )

        with subtests.test(msg=operation.label):
            call()

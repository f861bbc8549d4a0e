"""Access fixtures: a listing of Acme (alice, bob) that Beta (carol, dave) asks for."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from access import services
from catalog.models import Dataset

LOANS = (
    b"loan_id,amount,opened,defaulted,region,customer\n"
    b"1,1000.50,2024-01-03,false,north,Ann Smith\n"
    b"2,250.00,2024-02-11,true,south,Bob Jones\n"
    b"3,,2024-03-30,false,,Carl Berg\n"
    b"4,75.25,2023-12-30,true,north,Ann Smith\n"
)

META = {
    "title": "SME loans 2024",
    "description": "Small-business loans opened in 2024, one row per loan.",
    "category": "loans",
    "terms": "Risk modelling only.",
    "tags": "loans",
}

PURPOSE = "Benchmark default rates of small business loans in our region."


@pytest.fixture
def listing(cast, api):  # type: ignore[no-untyped-def]
    """Publish a listing of Acme as bob; `sensitivity` defaults to internal."""

    def make(sensitivity: str = "internal", content: bytes = LOANS, owner=None) -> Dataset:  # type: ignore[no-untyped-def]
        api.force_authenticate(owner or cast.bob.user)
        response = api.post(
            "/api/v1/datasets/",
            {
                **META,
                "sensitivity": sensitivity,
                "file": SimpleUploadedFile("loans.csv", content, content_type="text/csv"),
            },
            format="multipart",
        )
        assert response.status_code == 201, response.content
        api.force_authenticate(None)
        return Dataset.objects.get(pk=response.json()["id"])

    return make


@pytest.fixture
def ask(cast):  # type: ignore[no-untyped-def]
    """dave (Beta staff) asks for `dataset`."""

    def make(dataset, user=None, **kw):  # type: ignore[no-untyped-def]
        values = {
            "purpose": PURPOSE,
            "columns": dataset.current_version.column_names,
            "filter_text": "",
            "duration_days": 30,
            **kw,
        }
        return services.access_request_create(
            user=user or cast.dave.user, dataset=dataset, **values
        )

    return make


@pytest.fixture
def granted(cast, listing, ask):  # type: ignore[no-untyped-def]
    """An approved grant of an internal listing: dave's request, alice's approval."""

    def make(approval=None, **kw):  # type: ignore[no-untyped-def]
        request = ask(listing(), **kw)
        return services.access_request_approve(
            user=cast.alice.user, request=request, approval=approval
        )

    return make

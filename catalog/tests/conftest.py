import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

LOANS = (
    b"loan_id,amount,opened,defaulted,region\n"
    b"1,1000.50,2024-01-03,false,north\n"
    b"2,250.00,2024-02-11,true,south\n"
    b"3,,2024-03-30,false,\n"
)

META = {
    "title": "SME loans 2024",
    "description": "Small-business loans opened in 2024, one row per loan.",
    "category": "loans",
    "sensitivity": "internal",
    "terms": "Risk modelling only.",
    "tags": "loans, sme",
}


@pytest.fixture
def csv_file():  # type: ignore[no-untyped-def]
    def make(content: bytes = LOANS, name: str = "loans.csv") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, content, content_type="text/csv")

    return make


@pytest.fixture
def publish(api, csv_file):  # type: ignore[no-untyped-def]
    """Publish through the API as `user`; returns the response."""

    def do(user, content: bytes = LOANS, **meta):  # type: ignore[no-untyped-def]
        api.force_authenticate(user)
        return api.post(
            "/api/v1/datasets/", {**META, **meta, "file": csv_file(content)}, format="multipart"
        )

    return do

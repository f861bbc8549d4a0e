"""Bounded listing metadata: title, description, terms and tags each have a limit, named in
the 400 of the API and beside the form field, at publish and on edit (issue 14, finding 6)."""

import pytest
from django.urls import reverse

from catalog import limits
from catalog.models import Dataset

pytestmark = pytest.mark.django_db

TOO_LONG = [
    ("title", "t" * (limits.TITLE_CHARS + 1), "200 characters"),
    ("description", "d" * (limits.DESCRIPTION_CHARS + 1), "10000 characters"),
    ("terms", "x" * (limits.TERMS_CHARS + 1), "10000 characters"),
    ("tags", ", ".join(f"tag{i}" for i in range(limits.MAX_TAGS + 1)), "at most 20 tags"),
    ("tags", "a" * (limits.TAG_CHARS + 1), "longer than 40 characters"),
]


def test_the_limits():
    assert (limits.TITLE_CHARS, limits.DESCRIPTION_CHARS, limits.TERMS_CHARS) == (
        200,
        10_000,
        10_000,
    )
    assert (limits.MAX_TAGS, limits.TAG_CHARS) == (20, 40)


@pytest.mark.parametrize(("field", "value", "message"), TOO_LONG)
def test_publishing_past_a_limit_answers_400_naming_it(cast, publish, field, value, message):
    response = publish(cast.bob.user, **{field: value})
    assert response.status_code == 400, response.content
    assert message in response.json()["fields"][field][0]
    assert not Dataset.objects.exists()


@pytest.mark.parametrize(("field", "value", "message"), TOO_LONG)
def test_editing_past_a_limit_answers_400_naming_it(cast, publish, api, field, value, message):
    dataset_id = publish(cast.bob.user).json()["id"]
    if field == "tags":
        value = [t.strip() for t in value.split(",")]
    response = api.patch(f"/api/v1/datasets/{dataset_id}/", {field: value}, format="json")
    assert response.status_code == 400, response.content
    assert message in response.json()["fields"][field][0]


def test_a_huge_tag_list_is_refused_before_it_is_walked(cast, publish, api):
    dataset_id = publish(cast.bob.user).json()["id"]
    response = api.patch(
        f"/api/v1/datasets/{dataset_id}/", {"tags": ["a"] * 100_000}, format="json"
    )
    assert response.status_code == 400
    assert "at most 20 tags" in response.json()["fields"]["tags"][0]


def test_a_description_at_the_limit_is_taken(cast, publish, api):
    value = "d" * limits.DESCRIPTION_CHARS
    response = publish(cast.bob.user, description=value, terms=value)
    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get()
    assert dataset.description == value and dataset.terms == value


@pytest.mark.parametrize(("field", "value", "message"), TOO_LONG)
def test_the_edit_page_shows_the_limit(cast, client, publish, field, value, message):
    dataset_id = publish(cast.bob.user).json()["id"]
    client.force_login(cast.bob.user)
    form = {
        "title": "SME loans 2024",
        "description": "Loans.",
        "category": "loans",
        "sensitivity": "internal",
        "terms": "Risk only.",
        "tags": "loans",
        field: value,
    }
    response = client.post(reverse("dataset-edit", args=[dataset_id]), form)
    assert response.status_code == 400
    page = response.content.decode()
    assert message.split()[-1] in page and (
        "at most" in page or "longer than" in page or "no more than" in page
    )


def test_the_widest_header_allowed_still_publishes(cast, publish):
    # Its dataset.published entry lists every column: it fits LEDGER_MAX_ENTRY_BYTES.
    from catalog.csvcheck import MAX_HEADER_BYTES

    count = MAX_HEADER_BYTES // 128
    names = [f"{i:04d}" + "é" * 62 for i in range(count)]  # 128 bytes each, 66 characters
    assert sum(len(n.encode()) for n in names) == MAX_HEADER_BYTES
    body = (",".join(names) + "\n" + ",".join("1" * count) + "\n").encode()
    response = publish(cast.bob.user, content=body, title="T" * limits.TITLE_CHARS)
    assert response.status_code == 201, response.content[:500]


def test_a_column_name_past_128_characters_is_refused_at_publish(cast, publish):
    long = "c" * 129
    response = publish(cast.bob.user, content=f"id,{long}\n1,2\n".encode())
    assert response.status_code == 400
    body = response.json()
    assert "a column name may have at most 128" in body["fields"]["file"][0]
    assert body["problems"][0]["line"] == 1
    assert not Dataset.objects.exists()

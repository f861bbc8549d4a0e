"""Search on SQLite goes through an FTS5 trigram index (catalog.sqlite_search); on
PostgreSQL through the stored tsvector. Each test says what holds on the engine it runs on
(CI runs the suite on both)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from catalog import sqlite_search

pytestmark = pytest.mark.django_db

SQLITE = connection.vendor == "sqlite"


def _found(api, user, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    api.force_authenticate(user)
    response = api.get(reverse("api-datasets"), {"search": text})
    assert response.status_code == 200, response.content
    return sorted(d["title"] for d in response.json()["results"])


def test_substrings_of_three_characters_or_more_come_from_the_index(cast, api, publish):
    publish(cast.bob.user, title="Harbour mortgages")
    publish(cast.dave.user, title="Motor claims")
    # Whole words are found on both engines, in any case.
    assert _found(api, cast.aud, "MORTGAGES") == ["Harbour mortgages"]
    assert _found(api, cast.aud, "defaulted") == ["Harbour mortgages", "Motor claims"]
    # SQLite matches substrings (as the LIKE it replaces did); PostgreSQL matches words.
    assert _found(api, cast.aud, "ortgag") == (["Harbour mortgages"] if SQLITE else [])
    # Below three characters the index cannot answer: SQLite scans, PostgreSQL has no such word.
    assert _found(api, cast.aud, "mo") == (["Harbour mortgages", "Motor claims"] if SQLITE else [])


@pytest.mark.parametrize("text", ['"', 'a"b', "mort*", "title:motor", "NOT motor", "(", "^x", "'"])
def test_query_syntax_in_the_search_box_is_plain_text(cast, api, publish, text):
    publish(cast.bob.user, title="Harbour mortgages")
    # Never an error: the words are matched as text, whatever FTS5 or tsquery would make of it.
    assert _found(api, cast.aud, text) == []


def test_the_index_follows_edits_and_withdrawals(cast, api, publish):
    created = publish(cast.bob.user, title="Harbour mortgages").json()
    api.force_authenticate(cast.bob.user)
    edited = api.patch(
        reverse("api-dataset", args=[created["id"]]), {"title": "Quay leases"}, format="json"
    )
    assert edited.status_code == 200
    assert _found(api, cast.aud, "mortgages") == []
    assert _found(api, cast.aud, "leases") == ["Quay leases"]


def test_install_recreates_what_a_table_rebuild_dropped(cast, api, publish):
    """Django's SQLite schema editor rebuilds a table to alter it, dropping its triggers:
    `install` (run after every migrate) recreates them and rebuilds the index."""
    publish(cast.bob.user, title="Harbour mortgages")
    if not SQLITE:
        assert sqlite_search.install(connection) is False  # nothing of it on PostgreSQL
        return
    assert sqlite_search.install(connection) is False  # all there: nothing done
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER portal_dataset_fts_insert")
        cursor.execute("DELETE FROM portal_dataset_fts")  # what a stale index would hold
    assert _found(api, cast.aud, "mortgages") == []
    assert sqlite_search.install(connection) is True
    cache.clear()  # the facet counts (and so the result count) were cached from the stale index
    assert _found(api, cast.aud, "mortgages") == ["Harbour mortgages"]
    publish(cast.dave.user, title="Motor claims")  # the recreated trigger indexes new listings
    assert _found(api, cast.aud, "claims") == ["Motor claims"]

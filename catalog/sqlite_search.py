"""Substring search over listings on SQLite: an FTS5 trigram index of `Dataset.search_text`.

PostgreSQL matches words with its stored tsvector and GIN index (migration 0007). SQLite has
no such index, and `search_text LIKE '%word%'` read every listing's text for each word and
each of the page's queries (the list and the facet counts): 180-290 ms per search at 100,000
listings. FTS5's trigram tokenizer indexes every three-character piece, so a word of three
characters or more is found as a substring, case-insensitively, through the index; shorter
words still scan.

The index is an external-content FTS5 table over portal_dataset (it stores no copy of the
text), kept in step by three triggers. Django's SQLite schema editor rebuilds a table to alter
it and the triggers go with the old one, so `install` runs after every `migrate`
(catalog.apps, post_migrate): whatever it has to create, it then rebuilds the index from the
table.
"""

from __future__ import annotations

from typing import Any

from django.db.models.expressions import RawSQL

# A trigram index cannot answer for fewer characters than three.
MIN_CHARS = 3

_CREATE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS portal_dataset_fts USING fts5("
    "search_text, content='portal_dataset', content_rowid='id', tokenize='trigram')",
    """CREATE TRIGGER IF NOT EXISTS portal_dataset_fts_insert AFTER INSERT ON portal_dataset
    BEGIN
        INSERT INTO portal_dataset_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS portal_dataset_fts_delete AFTER DELETE ON portal_dataset
    BEGIN
        INSERT INTO portal_dataset_fts(portal_dataset_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS portal_dataset_fts_update
    AFTER UPDATE OF search_text ON portal_dataset
    BEGIN
        INSERT INTO portal_dataset_fts(portal_dataset_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO portal_dataset_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
]
_OBJECTS = (
    "portal_dataset_fts",
    "portal_dataset_fts_insert",
    "portal_dataset_fts_delete",
    "portal_dataset_fts_update",
)


def install(connection: Any) -> bool:
    """Create the index and its triggers where missing (SQLite only), rebuilding the index if
    anything was missing; True if it did. Idempotent."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)", _OBJECTS
        )
        if cursor.fetchone()[0] == len(_OBJECTS):
            return False
        for sql in _CREATE:
            cursor.execute(sql)
        cursor.execute("INSERT INTO portal_dataset_fts(portal_dataset_fts) VALUES ('rebuild')")
    return True


def indexed(word: str) -> bool:
    """True if the index can find `word` (three characters or more)."""
    return len(word) >= MIN_CHARS


def matching_ids(word: str) -> RawSQL:
    """The ids of the listings whose search text holds `word`, for `id__in=`: one phrase
    query (the word in double quotes, its own quotes doubled), never FTS5 query syntax from
    the visitor."""
    phrase = '"' + word.replace('"', '""') + '"'
    return RawSQL(
        "SELECT rowid FROM portal_dataset_fts WHERE portal_dataset_fts MATCH %s", [phrase]
    )

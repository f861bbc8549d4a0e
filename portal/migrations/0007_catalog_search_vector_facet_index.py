"""The catalog at 100,000 listings: a stored search vector with its GIN index on PostgreSQL
(replacing the expression index of 0003), and a covering index for the facet counts."""

import django.contrib.postgres.search
from django.db import migrations, models

import catalog.models

# PostgreSQL only: SQLite stores NULL in search_vector and matches substrings of search_text.
CREATE_GIN = (
    "CREATE INDEX IF NOT EXISTS dataset_search_vector ON portal_dataset USING GIN (search_vector)"
)
DROP_GIN = "DROP INDEX IF EXISTS dataset_search_vector"
# 0003's index on to_tsvector(search_text): nothing queries that expression any more.
OLD_FTS = (
    "CREATE INDEX IF NOT EXISTS dataset_search_fts ON portal_dataset "
    "USING GIN (to_tsvector('simple'::regconfig, search_text))"
)
DROP_OLD_FTS = "DROP INDEX IF EXISTS dataset_search_fts"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_GIN)
        schema_editor.execute(DROP_OLD_FTS)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(OLD_FTS)
        schema_editor.execute(DROP_GIN)


class Migration(migrations.Migration):
    dependencies = [("portal", "0006_dashboard_snapshots")]

    operations = [
        migrations.AddField(
            model_name="dataset",
            name="search_vector",
            field=models.GeneratedField(
                db_persist=True,
                expression=catalog.models.SearchDocument(models.F("search_text")),
                output_field=django.contrib.postgres.search.SearchVectorField(),
            ),
        ),
        migrations.AddIndex(
            model_name="dataset",
            index=models.Index(
                fields=["status", "institution", "category", "sensitivity"],
                name="dataset_status_facets",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]

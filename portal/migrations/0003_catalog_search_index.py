from django.db import migrations

# Full-text search on PostgreSQL: an expression index the catalog's search uses
# (portal/catalog/selectors.py builds exactly this expression). SQLite has no such index;
# the catalog falls back to a plain substring match there.
CREATE = (
    "CREATE INDEX IF NOT EXISTS dataset_search_fts ON portal_dataset "
    "USING GIN (to_tsvector('simple'::regconfig, search_text))"
)
DROP = "DROP INDEX IF EXISTS dataset_search_fts"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_catalog_datasets_versions_uploads")]

    operations = [migrations.RunPython(create, drop)]

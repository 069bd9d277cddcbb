"""Full-text search on PostgreSQL: a stored, generated `search_vector` column with a GIN index.

The column is outside the Django model on purpose (SQLite has no tsvector); selectors query
it with raw SQL on PostgreSQL and fall back to `icontains` elsewhere.
"""

from django.db import migrations

from wemaster.core.migration_operations import PostgresOnlySQL


class Migration(migrations.Migration):
    dependencies = [("community", "0001_initial")]

    operations = [
        PostgresOnlySQL(
            sql=[
                """
                ALTER TABLE community_post ADD COLUMN search_vector tsvector
                GENERATED ALWAYS AS (
                    setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A')
                    || setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')
                ) STORED
                """,
                "CREATE INDEX community_post_search ON community_post USING GIN (search_vector)",
            ],
            reverse_sql=[
                "DROP INDEX IF EXISTS community_post_search",
                "ALTER TABLE community_post DROP COLUMN IF EXISTS search_vector",
            ],
        )
    ]

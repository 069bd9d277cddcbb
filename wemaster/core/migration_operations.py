"""Migration operations for database features only PostgreSQL has (triggers, GIN indexes).

On SQLite (the embedded default) they do nothing; services keep the same guarantees
in code there, and the PostgreSQL-only tests prove the database-level guard.
"""

from django.db import migrations


class PostgresOnlySQL(migrations.RunSQL):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

"""Migration operations for PostgreSQL-only schema (full-text columns, GIN indexes, triggers).

The embedded default runs the same migrations on SQLite, so these operations check the
connection's vendor and do nothing elsewhere; the app provides its own fallback there.
"""

from django.db import migrations


class PostgresOnlySQL(migrations.RunSQL):
    """`RunSQL` that runs on PostgreSQL only and is a no-op on every other database."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return "Raw SQL operation (PostgreSQL only)"

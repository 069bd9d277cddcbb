"""Query expressions the ORM lacks, written for both databases the project runs on
(PostgreSQL in production and CI, SQLite in the embedded `make run`)."""

from django.db.models import JSONField, Subquery


class JSONRows(Subquery):
    """The rows of a subquery, whose one column `json` is a JSON object (`.values(json=JSONObject(...))`),
    as one JSON array (`[]` when there are none): related rows read in their parent's query.
    Row order is not guaranteed; sort in Python."""

    output_field = JSONField()
    postgresql_template = """(SELECT COALESCE(jsonb_agg(related."json"), '[]'::jsonb) FROM (%(subquery)s) AS related)"""
    sqlite_template = """(SELECT json_group_array(json(related."json")) FROM (%(subquery)s) AS related)"""

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=self.postgresql_template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=self.sqlite_template, **extra)

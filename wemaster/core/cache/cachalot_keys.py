"""django-cachalot table keys shared by the primary and its read replicas.

cachalot keys each table's invalidation stamp by database alias, so a write on
`default` would not invalidate results cached from `replica_0`. Mapping every replica
alias to `default` makes one write invalidate the table on all of them.
"""

from cachalot.utils import get_table_cache_key
from django.conf import settings


def table_cache_key(db_alias: str, table: str) -> str:
    if db_alias in settings.DATABASE_REPLICA_ALIASES:
        db_alias = "default"
    return get_table_cache_key(db_alias, table)

"""Drop the tables of waffle's own flag model, which `flags.Flag` replaces (WAFFLE_FLAG_MODEL).

waffle's initial migration creates them even when its flag model is swapped out. Django then
leaves a swapped model's tables out of `flush`, and `waffle_flag_groups` referencing `auth_group`
makes flushing (transactional tests, `manage.py flush`) fail. Nothing reads them: the flags live
in `flags_flag` and its two relation tables.
"""

from django.db import migrations

DROP = [
    "DROP TABLE IF EXISTS waffle_flag_groups",
    "DROP TABLE IF EXISTS waffle_flag_users",
    "DROP TABLE IF EXISTS waffle_flag",
]


class Migration(migrations.Migration):
    dependencies = [
        ("flags", "0001_flag"),
        ("waffle", "0004_update_everyone_nullbooleanfield"),
    ]

    operations = [migrations.RunSQL(sql=DROP, reverse_sql=migrations.RunSQL.noop)]

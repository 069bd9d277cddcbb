"""Carry DRF authtoken keys over to device tokens, then drop the table that stored them in clear.

knox finds a token by the SHA-512 digest of whatever string the client sends, so an old 40-digit
key hashes and verifies like a token knox issued: each key becomes a `DeviceToken` whose digest
is the key's, and clients keep working without logging in again. From here on the key exists
only on the client. A carried-over token expires like any other, `REST_KNOX["TOKEN_TTL"]` after
its last use (counted from this migration). A database without the authtoken table (a new
installation) has nothing to carry.
"""

from django.db import migrations
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings

LEGACY_TABLE = "authtoken_token"
LEGACY_NAME = "API token (before device tokens)"
BATCH = 1000


def carry_over_authtoken_keys(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    table = apps.get_model("accounts", "DeviceToken")._meta.db_table
    now = timezone.now()
    expiry = now + knox_settings.TOKEN_TTL if knox_settings.TOKEN_TTL is not None else None
    # SQL rather than bulk_create: `created` (auto_now_add) keeps the key's own creation time.
    insert = (
        f"INSERT INTO {table} (digest, token_key, user_id, created, expiry, last_used, name) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s)"
    )
    with connection.cursor() as reader, connection.cursor() as writer:
        reader.execute(f"SELECT key, user_id, created FROM {LEGACY_TABLE}")
        while rows := reader.fetchmany(BATCH):
            writer.executemany(
                insert,
                [
                    (hash_token(key), key[: CONSTANTS.TOKEN_KEY_LENGTH], user_id, created, expiry, now, LEGACY_NAME)
                    for key, user_id, created in rows
                ],
            )
        writer.execute(f"DROP TABLE {LEGACY_TABLE}")
        writer.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_device_tokens")]

    operations = [migrations.RunPython(carry_over_authtoken_keys, migrations.RunPython.noop)]

"""PostgreSQL guards that no application bug can bypass:

- a transfer's entries must sum to zero, checked at commit (deferred constraint trigger);
- entries are append-only (UPDATE and DELETE raise).
"""

from django.db import migrations

from wemaster.core.migration_operations import PostgresOnlySQL

BALANCED = """
CREATE FUNCTION ledger_transfer_must_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT COALESCE(SUM(amount), 0) FROM ledger_entry WHERE transfer_id = NEW.transfer_id) <> 0 THEN
        RAISE EXCEPTION 'ledger transfer % does not balance', NEW.transfer_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_entry_transfer_balanced
    AFTER INSERT ON ledger_entry DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_transfer_must_balance();
"""

APPEND_ONLY = """
CREATE FUNCTION ledger_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only' USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER ledger_entry_no_update_or_delete
    BEFORE UPDATE OR DELETE ON ledger_entry
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [
        PostgresOnlySQL(
            BALANCED,
            reverse_sql="DROP TRIGGER ledger_entry_transfer_balanced ON ledger_entry;"
            " DROP FUNCTION ledger_transfer_must_balance();",
        ),
        PostgresOnlySQL(
            APPEND_ONLY,
            reverse_sql="DROP TRIGGER ledger_entry_no_update_or_delete ON ledger_entry;"
            " DROP FUNCTION ledger_entry_append_only();",
        ),
    ]

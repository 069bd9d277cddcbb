from django.db import migrations


class Migration(migrations.Migration):
    """The sandbox provider keeps its record outside our transactions now (its own connection and
    table, wemaster/core/payments/sandbox.py), so the in-transaction GatewayCall table goes."""

    dependencies = [("core", "0001_idempotency_and_gateway")]

    operations = [migrations.DeleteModel(name="GatewayCall")]

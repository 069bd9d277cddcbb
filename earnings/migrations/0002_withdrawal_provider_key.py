import uuid

from django.db import migrations, models

import earnings.models


def give_each_withdrawal_a_provider_key(apps, schema_editor):
    Withdrawal = apps.get_model("earnings", "Withdrawal")
    for withdrawal in Withdrawal.objects.filter(provider_key__isnull=True).only("id").iterator():
        Withdrawal.objects.filter(pk=withdrawal.pk).update(provider_key=f"payout_{uuid.uuid4().hex}")


class Migration(migrations.Migration):
    dependencies = [("earnings", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="withdrawal",
            name="provider_key",
            field=models.CharField(max_length=64, null=True, editable=False),
        ),
        migrations.RunPython(give_each_withdrawal_a_provider_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="withdrawal",
            name="provider_key",
            field=models.CharField(
                default=earnings.models.new_provider_key, editable=False, max_length=64, unique=True
            ),
        ),
    ]

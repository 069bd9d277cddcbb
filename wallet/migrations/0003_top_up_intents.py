import uuid

from django.db import migrations, models
from django.db.models import Count, Q

import wallet.models


def give_each_top_up_a_provider_key(apps, schema_editor):
    TopUp = apps.get_model("wallet", "TopUp")
    for top_up in TopUp.objects.filter(provider_key__isnull=True).only("id").iterator():
        TopUp.objects.filter(pk=top_up.pk).update(provider_key=f"top_up_{uuid.uuid4().hex}")


def keep_the_first_top_up_per_client_key(apps, schema_editor):
    """Before the constraint: a key reused after the key cache expired made a second top-up."""
    TopUp = apps.get_model("wallet", "TopUp")
    reused = (
        TopUp.objects.exclude(client_key="").values("wallet_id", "client_key").annotate(n=Count("id")).filter(n__gt=1)
    )
    for row in reused:
        later = TopUp.objects.filter(wallet_id=row["wallet_id"], client_key=row["client_key"]).order_by("id")[1:]
        TopUp.objects.filter(pk__in=[top_up.pk for top_up in later]).update(client_key="")


class Migration(migrations.Migration):
    dependencies = [("wallet", "0002_top_up_client_key")]

    operations = [
        migrations.AddField(
            model_name="topup", name="provider_key", field=models.CharField(max_length=64, null=True, editable=False)
        ),
        migrations.RunPython(give_each_top_up_a_provider_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="topup",
            name="provider_key",
            field=models.CharField(
                default=wallet.models.new_provider_key, editable=False, max_length=64, unique=True
            ),
        ),
        migrations.AddField(
            model_name="topup", name="updated_at", field=models.DateTimeField(auto_now=True)
        ),
        migrations.AlterField(
            model_name="topup",
            name="status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("processing", "Processing"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AddIndex(
            model_name="topup", index=models.Index(fields=["wallet", "-id"], name="wallet_topup_recent")
        ),
        migrations.AddIndex(
            model_name="topup",
            index=models.Index(
                condition=Q(status__in=("pending", "processing")),
                fields=["updated_at"],
                name="wallet_topup_unresolved",
            ),
        ),
        migrations.RunPython(keep_the_first_top_up_per_client_key, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="topup",
            constraint=models.UniqueConstraint(
                condition=~Q(client_key=""), fields=("wallet", "client_key"), name="wallet_one_top_up_per_client_key"
            ),
        ),
    ]

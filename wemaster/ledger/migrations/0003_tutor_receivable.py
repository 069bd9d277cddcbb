"""Tutor receivable accounts: what a tutor owes the platform, so a balance that is never positive."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0002_database_guards'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='account',
            name='ledger_account_balance_not_negative',
        ),
        migrations.AlterField(
            model_name='account',
            name='kind',
            field=models.CharField(choices=[('student_wallet', 'Student wallet'), ('tutor_pending', 'Tutor pending earnings'), ('tutor_available', 'Tutor available earnings'), ('payout_clearing', 'Payout clearing'), ('platform_revenue', 'Platform revenue'), ('external_funding', 'External (gateway) funding'), ('tutor_receivable', 'Tutor receivable (owed to the platform)')], max_length=32),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(('balance__gte', 0), ('kind__in', ('external_funding', 'tutor_receivable')), _connector='OR'), name='ledger_account_balance_not_negative'),
        ),
        migrations.AddConstraint(
            model_name='account',
            constraint=models.CheckConstraint(condition=models.Q(('balance__lte', 0), models.Q(('kind__in', ('tutor_receivable',)), _negated=True), _connector='OR'), name='ledger_account_receivable_not_positive'),
        ),
    ]

"""Wallet invariants for `manage.py reconcile`: a top-up moved money iff it succeeded, by its amount,
and the provider's record of charges agrees with the top-ups, charge for charge."""

from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from wallet.models import UNRESOLVED, TopUp, TopUpStatus
from wemaster.core.payments import Kind, get_gateway
from wemaster.ledger.models import Entry


def top_ups_match_transfers() -> list[str]:
    problems = [
        f"top-up {top_up_id} is {status} but has transfer {transfer_id}"
        for top_up_id, status, transfer_id in TopUp.objects.filter(
            ~Q(status=TopUpStatus.SUCCEEDED), transfer__isnull=False
        ).values_list("id", "status", "transfer_id")
    ]
    problems += [
        f"top-up {top_up_id} succeeded without a transfer"
        for top_up_id in TopUp.objects.filter(status=TopUpStatus.SUCCEEDED, transfer__isnull=True).values_list(
            "id", flat=True
        )
    ]
    wrong = (
        Entry.objects.filter(transfer__top_up__isnull=False, account_id=F("transfer__top_up__wallet__account_id"))
        .exclude(amount=F("transfer__top_up__amount"))
        .values_list("transfer__top_up__id", "amount", "transfer__top_up__amount")
    )
    problems += [f"top-up {top_up_id} credited {credited}, not {amount}" for top_up_id, credited, amount in wrong]
    return problems


def provider_charges_match_top_ups() -> list[str]:
    """Every charge the provider made matches exactly one credited top-up of the same amount and
    currency, and every credited top-up matches a charge; top-ups unresolved for longer than
    PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS are reported."""
    charges = {record.key: record for record in get_gateway().records(kind=Kind.CHARGE)}
    report_before = timezone.now() - timedelta(seconds=settings.PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS)
    problems = []
    rows = TopUp.objects.values_list("id", "provider_key", "status", "amount", "currency", "failure_code", "updated_at")
    for top_up_id, key, status, amount, currency, failure_code, updated_at in rows.iterator():
        record = charges.pop(key, None)
        charged = record is not None and record.succeeded
        if status == TopUpStatus.SUCCEEDED and not charged:
            problems.append(f"top-up {top_up_id} was credited but the provider has no charge for it")
        elif status == TopUpStatus.SUCCEEDED and not record.matches(amount=amount, currency=currency):
            problems.append(f"top-up {top_up_id} credited {amount} {currency}, provider charged {record.amount}")
        elif status == TopUpStatus.FAILED and charged:
            problems.append(f"top-up {top_up_id} failed but the provider charged {record.amount} {record.currency}")
        elif status in UNRESOLVED and (failure_code or updated_at < report_before):
            reason = f" ({failure_code})" if failure_code else ""
            problems.append(f"top-up {top_up_id} unresolved since {updated_at.isoformat()}{reason}")
    problems += [
        f"provider charge {record.provider_id} ({record.key}, {record.amount} {record.currency}) matches no top-up"
        for record in charges.values()
        if record.succeeded
    ]
    return problems


CHECKS = [top_ups_match_transfers, provider_charges_match_top_ups]

"""Wallet invariants for `manage.py reconcile`: a top-up moved money iff it succeeded, by its amount."""

from django.db.models import F, Q

from wallet.models import TopUp, TopUpStatus
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


CHECKS = [top_ups_match_transfers]

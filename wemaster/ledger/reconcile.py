"""Ledger invariants (docs/ARCHITECTURE.md, Money: Reconcile). Each check returns human-readable discrepancies.

Apps add checks of their own in a `reconcile.py` module with `CHECKS = [callable, ...]`;
`manage.py reconcile` runs them all.
"""

from django.db.models import Count, F, Q, Sum

from wemaster.ledger.models import MAY_GO_NEGATIVE, NEVER_POSITIVE, Account, Entry, Hold, HoldStatus, Transfer


def transfers_balance() -> list[str]:
    unbalanced = (
        Entry.objects.values("transfer_id").annotate(total=Sum("amount")).exclude(total=0).order_by("transfer_id")
    )
    problems = [f"transfer {row['transfer_id']} entries sum to {row['total']}, not 0" for row in unbalanced]
    empty = Transfer.objects.annotate(n=Count("entries")).filter(n__lt=2).values_list("id", flat=True)
    problems += [f"transfer {transfer_id} has fewer than two entries" for transfer_id in empty]
    return problems


def balances_match_entries() -> list[str]:
    sums = dict(Entry.objects.values_list("account_id").annotate(total=Sum("amount")).order_by())
    problems = []
    for account_id, balance in Account.objects.values_list("id", "balance").iterator():
        expected = sums.get(account_id, 0)
        if balance != expected:
            problems.append(f"account {account_id} balance {balance} != sum of entries {expected}")
    return problems


def no_negative_balances() -> list[str]:
    bad = Account.objects.filter(
        (Q(balance__lt=0) & ~Q(kind__in=MAY_GO_NEGATIVE)) | Q(held__lt=0) | (Q(held__gt=0) & Q(held__gt=F("balance")))
    ).values_list("id", "kind", "balance", "held")
    return [f"account {i} ({kind}) balance {balance} held {held} out of bounds" for i, kind, balance, held in bad]


def no_positive_receivables() -> list[str]:
    """A receivable is what its owner owes the platform: zero or negative, never a credit."""
    bad = Account.objects.filter(kind__in=NEVER_POSITIVE, balance__gt=0).values_list("id", "kind", "balance")
    return [f"account {i} ({kind}) balance {balance} is positive" for i, kind, balance in bad]


def held_matches_pending_holds() -> list[str]:
    pending = dict(
        Hold.objects.filter(status=HoldStatus.PENDING)
        .values_list("account_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    problems = []
    for account_id, held in Account.objects.filter(Q(held__gt=0) | Q(id__in=list(pending))).values_list("id", "held"):
        if held != pending.get(account_id, 0):
            problems.append(f"account {account_id} held {held} != pending holds {pending.get(account_id, 0)}")
    return problems


CHECKS = [
    transfers_balance,
    balances_match_entries,
    no_negative_balances,
    no_positive_receivables,
    held_matches_pending_holds,
]


def find_discrepancies() -> list[str]:
    """Run every app's reconcile CHECKS (this module's included)."""
    from wemaster.core.discovery import app_modules

    problems = []
    for module in app_modules("reconcile"):
        for check in module.CHECKS:
            problems.extend(f"{check.__name__}: {problem}" for problem in check())
    return problems


def reconcile_run():
    """Run every check and record the run (a `ReconcileRun`, the last one shown to staff)."""
    from wemaster.core.models import ReconcileRun

    return ReconcileRun.objects.create(problems=find_discrepancies())

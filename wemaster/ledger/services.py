"""Ledger operations: the only code that changes balances.

Each operation is atomic, writes its entries in the same transaction as the balance
columns, and takes row locks in primary-key order (holds first, then accounts).
Legs are `(account_id, amount)` with the amount's sign being its effect on the account.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from wemaster.ledger.errors import (
    DuplicateTransfer,
    HoldAlreadyResolved,
    InsufficientFunds,
    OverCapture,
    ReceivableOverpaid,
    UnbalancedTransfer,
)
from wemaster.ledger.locks import lock_accounts, lock_hold
from wemaster.ledger.metrics import ledger_holds, ledger_transfers
from wemaster.ledger.models import (
    MAY_GO_NEGATIVE,
    NEVER_POSITIVE,
    Account,
    AccountKind,
    Entry,
    Hold,
    HoldStatus,
    Transfer,
)
from wemaster.ledger.signals import log_transfer_on_commit, send_student_wallet_debited_on_commit


@dataclass(frozen=True)
class Leg:
    account_id: int
    amount: int


def account_for(*, kind: str, currency: str, owner=None) -> Account:
    """The (owner, kind, currency) account, created on first use (race-safe)."""
    lookup = {"kind": kind, "currency": currency, "owner": owner}
    account = Account.objects.filter(**lookup).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(**lookup)
    except IntegrityError:
        return Account.objects.get(**lookup)


def platform_account(*, kind: str, currency: str) -> Account:
    return account_for(kind=kind, currency=currency, owner=None)


def _post_legs(*, transfer: Transfer, legs: Sequence[Leg], accounts: dict[int, Account], held_release: dict) -> None:
    """Apply legs to locked accounts and write entries. Precondition: accounts locked.

    `held_release` maps account id -> amount of `held` released in the same step.
    Raises InsufficientFunds if a non-negative account would go below its holds,
    ReceivableOverpaid if a receivable would turn positive.
    """
    entries = []
    for leg in legs:
        account = accounts[leg.account_id]
        if account.currency != transfer.currency:
            raise UnbalancedTransfer(f"account {account.id} is in {account.currency}, transfer in {transfer.currency}")
        account.held -= held_release.pop(account.id, 0)
        account.balance += leg.amount
        if account.kind not in MAY_GO_NEGATIVE and account.balance - account.held < 0:
            raise InsufficientFunds()
        if account.kind in NEVER_POSITIVE and account.balance > 0:
            raise ReceivableOverpaid()
        entries.append(Entry(transfer=transfer, account=account, amount=leg.amount, balance_after=account.balance))
        if leg.amount < 0 and account.kind == AccountKind.STUDENT_WALLET:
            send_student_wallet_debited_on_commit(account.id, trigger=f"transfer:{transfer.id}")
    for account_id, release in held_release.items():
        accounts[account_id].held -= release
    touched = {leg.account_id for leg in legs} | set(held_release)
    for account_id in sorted(touched):
        account = accounts[account_id]
        Account.objects.filter(pk=account_id).update(balance=account.balance, held=account.held)
    Entry.objects.bulk_create(entries)
    log_transfer_on_commit(transfer=transfer, legs=legs)


def _new_transfer(*, kind: str, reference: str, currency: str, description: str) -> Transfer:
    try:
        with transaction.atomic():
            return Transfer.objects.create(kind=kind, reference=reference, currency=currency, description=description)
    except IntegrityError as exc:
        raise DuplicateTransfer(f"{kind} {reference} already moved money") from exc


def _check_legs(legs: Sequence[Leg]) -> None:
    if not legs or any(leg.amount == 0 for leg in legs):
        raise UnbalancedTransfer("every leg must move a non-zero amount")
    if sum(leg.amount for leg in legs) != 0:
        raise UnbalancedTransfer()
    if len({leg.account_id for leg in legs}) != len(legs):
        raise UnbalancedTransfer("one leg per account")


@transaction.atomic
def transfer(*, kind: str, reference: str, currency: str, legs: Sequence[Leg], description: str = "") -> Transfer:
    """Move money between accounts.

    Raises InsufficientFunds, ReceivableOverpaid, DuplicateTransfer, UnbalancedTransfer.
    """
    _check_legs(legs)
    transfer_row = _new_transfer(kind=kind, reference=reference, currency=currency, description=description)
    accounts = lock_accounts(leg.account_id for leg in legs)
    _post_legs(transfer=transfer_row, legs=legs, accounts=accounts, held_release={})
    ledger_transfers.labels(kind).inc()
    return transfer_row


@transaction.atomic
def hold_create(*, account: Account, amount: int, reference: str) -> Hold:
    """Reserve `amount` of the account's available balance.

    One conditional UPDATE (no read-then-write): it succeeds only while
    balance - held >= amount. Raises InsufficientFunds otherwise.
    """
    if amount <= 0:
        raise OverCapture("A hold must be for a positive amount.")
    updated = Account.objects.filter(pk=account.pk, balance__gte=F("held") + amount).update(held=F("held") + amount)
    if not updated:
        raise InsufficientFunds()
    hold = Hold.objects.create(account=account, amount=amount, reference=reference)
    if account.kind == AccountKind.STUDENT_WALLET:
        send_student_wallet_debited_on_commit(account.id, trigger=f"hold:{hold.id}")
    ledger_holds.labels("created").inc()
    return hold


@transaction.atomic
def hold_capture(*, hold: Hold, kind: str, reference: str, credits: Sequence[Leg], description: str = "") -> Transfer:
    """Post a pending hold: debit the held account by the sum of `credits` (at most the held
    amount; the rest is released) and credit each destination. Exactly once per hold.

    Raises HoldAlreadyResolved, OverCapture.
    """
    hold = lock_hold(hold.pk)
    if hold.status != HoldStatus.PENDING:
        raise HoldAlreadyResolved()
    captured = sum(leg.amount for leg in credits)
    if any(leg.amount <= 0 for leg in credits) or captured <= 0:
        raise OverCapture("Capture legs must be positive.")
    if captured > hold.amount:
        raise OverCapture()
    legs = [Leg(hold.account_id, -captured), *credits]
    _check_legs(legs)
    accounts = lock_accounts(leg.account_id for leg in legs)
    currency = accounts[hold.account_id].currency
    transfer_row = _new_transfer(kind=kind, reference=reference, currency=currency, description=description)
    _post_legs(transfer=transfer_row, legs=legs, accounts=accounts, held_release={hold.account_id: hold.amount})
    hold.status = HoldStatus.POSTED
    hold.transfer = transfer_row
    hold.resolved_at = timezone.now()
    hold.save(update_fields=["status", "transfer", "resolved_at"])
    ledger_transfers.labels(kind).inc()
    ledger_holds.labels("posted").inc()
    return transfer_row


@transaction.atomic
def hold_void(*, hold: Hold) -> Hold:
    """Release a pending hold; no money moves. Exactly once. Raises HoldAlreadyResolved."""
    hold = lock_hold(hold.pk)
    if hold.status != HoldStatus.PENDING:
        raise HoldAlreadyResolved()
    Account.objects.filter(pk=hold.account_id).update(held=F("held") - hold.amount)
    hold.status = HoldStatus.VOIDED
    hold.resolved_at = timezone.now()
    hold.save(update_fields=["status", "resolved_at"])
    ledger_holds.labels("voided").inc()
    return hold


def student_wallet_account(*, student, currency: str) -> Account:
    return account_for(kind=AccountKind.STUDENT_WALLET, currency=currency, owner=student)

"""Ledger events for decoupled listeners (the wallet's auto-reload listens here).

Sent only after the transaction that caused them commits; receivers get `account_id` and
`trigger`, a stable name of the business event (`transfer:<id>` or `hold:<id>`), so a
listener can make its own reaction idempotent per event.

Every transfer also writes one log line, `money_transfer`, after commit (never for a rolled-back
one), with the ids of the request or task that moved the money (docs/OPERATIONS.md, Logs).
"""

from collections.abc import Sequence

import structlog
from django.db import transaction
from django.dispatch import Signal

from wemaster.core.money import format_minor

student_wallet_debited = Signal()
logger = structlog.get_logger("wemaster.ledger")


def log_transfer_on_commit(*, transfer, legs: Sequence) -> None:
    """One line per transfer: kind, amount moved ("12.50"), currency, the debited and credited
    account ids, reference. Precondition: the legs balance (their positive amounts are the total)."""
    fields = {
        "transfer_id": transfer.id,
        "kind": transfer.kind,
        "amount": format_minor(sum(leg.amount for leg in legs if leg.amount > 0)),
        "currency": transfer.currency,
        "debit_accounts": sorted(leg.account_id for leg in legs if leg.amount < 0),
        "credit_accounts": sorted(leg.account_id for leg in legs if leg.amount > 0),
        "reference": transfer.reference,
    }
    transaction.on_commit(lambda: logger.info("money_transfer", **fields))


def send_student_wallet_debited_on_commit(account_id: int, *, trigger: str) -> None:
    transaction.on_commit(lambda: student_wallet_debited.send(sender=None, account_id=account_id, trigger=trigger))

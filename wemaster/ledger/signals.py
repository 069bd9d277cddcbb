"""Ledger events for decoupled listeners (the wallet's auto-reload listens here).

Sent only after the transaction that caused them commits; receivers get `account_id` and
`trigger`, a stable name of the business event (`transfer:<id>` or `hold:<id>`), so a
listener can make its own reaction idempotent per event.
"""

from django.db import transaction
from django.dispatch import Signal

student_wallet_debited = Signal()


def send_student_wallet_debited_on_commit(account_id: int, *, trigger: str) -> None:
    transaction.on_commit(lambda: student_wallet_debited.send(sender=None, account_id=account_id, trigger=trigger))

"""Row locks: the one order every flow follows, and the retry of the conflicts that still happen.

The order. A transaction that takes row locks takes them in this order, never going back
to an earlier step once it holds a lock of a later one:

    1. lesson row                         (wemaster.lessons: book, complete, cancel, report, resolve)
    2. refund request                     (wemaster.lessons: refund decisions)
    3. earning rows, ascending id         (earnings: refunds, clearance batches)
    4. withdrawal or top-up               (earnings, wallet: the intents of money crossing the boundary)
    5. review, tutor profile, wallet row  (reviews: a review's change, then the tutor's rating;
                                           accounts: booking's per-tutor guard; wallet: card settings)
    6. hold                               (this module: `lock_hold`)
    7. ledger accounts, ascending id      (this module: `lock_accounts`)
    8. event sequences, ascending user id (messaging.events: every stored event, a cause's
                                           notification included, so a money flow takes it last)

Why this order is deadlock-free, and why this one. A deadlock is a cycle of transactions each
waiting for a lock another holds; when every transaction acquires its locks along one total
order, a waiting transaction only ever waits for a lock later than all it holds, so no cycle
can close. The order runs from business rows to money rows because each step's rows name the
next step's: a lesson names its hold, a refund request its lesson's earning, a hold its
account, an earning its tutor's accounts; a flow cannot know which accounts it moves before it
has read (and locked) the rows that decide it. Among the business rows: a refund is decided
on a lesson, so a flow needing both locks the lesson first; a refund reverses an earning and
may have to look at the tutor's withdrawal in flight, so request -> earning -> withdrawal. A
withdrawal or top-up is settled in a transaction of its own, which locks nothing before it.
The tutor profile only serializes bookings of one tutor (and the recomputation of its rating,
after the review that moved it) and guards nothing below it, so it comes last among them; a
refund approval hides its lesson's review there, after the earning and before the accounts.
Holds come before accounts because `hold_capture` must read the hold (its account and amount)
before it knows the legs. Accounts are the hottest rows (platform
revenue is in every charge), hence last and in primary-key order (Saleor's `lock_objects`).

Rules that make the order hold:
- Every row lock is FOR NO KEY UPDATE (`no_key=True`); a locking query that joins says `of=("self",)`.
  Inserting a row takes a KEY SHARE lock on each row its foreign keys point at (the user, the
  subject, the hold, the account). A plain FOR UPDATE, and FOR UPDATE of a joined table,
  conflict with KEY SHARE: that is how booking (tutor profile joined to the tutor's user row,
  locked FOR UPDATE) deadlocked with completion (wallet account locked, then an earning insert
  waiting for KEY SHARE on that user row). No flow changes a primary key, so NO KEY UPDATE is
  enough, and users and subjects are never locked at all.
- Ledger accounts are looked up or created (`account_for`) before step 6: creating an account
  waits on its unique index for a concurrent creator, which is a lock too (so does inserting
  the one withdrawal in flight of a tutor, which comes before the accounts for that reason).
- A batch takes one step for all its rows before the next step (clearance locks the batch's
  earnings, then all their accounts at once in id order), never row by row across steps.
- Rows a transaction has just inserted are invisible to others and take no place in the order.
- Rows only flows that lock nothing else take (a tutor's payout methods, locked in id order by
  adding, removing or choosing the default one) stand outside the order: no cycle can pass them.
  The idempotency key's advisory lock is only tried (`pg_try_advisory_xact_lock`), never waited
  for, so it cannot close a cycle either.

The ledger does not import the apps: each app's locking helper (`_lock_lesson` in
wemaster.lessons, the clearance batch in earnings) follows this order and cites it.

Retries. PostgreSQL may still refuse a transaction for a lock conflict (a flow outside this
order, a serialization failure, a lock timeout). `retry_on_lock_conflict` re-runs the outermost
service transaction a few times with jittered backoff; what still conflicts becomes the 409
`lock_conflict` (never a 503: the database is up, the request merely collided).
"""

import logging
import random
import time
from collections.abc import Callable, Iterable
from functools import wraps

from django.conf import settings
from django.db import DatabaseError, transaction

from wemaster.core.errors import LOCK_CONFLICT_SQLSTATES, LockConflict, lock_conflict_sqlstate
from wemaster.ledger.metrics import lock_conflict_retries, lock_conflicts_given_up
from wemaster.ledger.models import Account, Hold

logger = logging.getLogger(__name__)


def lock_accounts(account_ids: Iterable[int]) -> dict[int, Account]:
    """Step 7: lock the accounts in ascending id order. Call inside transaction.atomic."""
    ids = sorted(set(account_ids))
    accounts = Account.objects.select_for_update(no_key=True).filter(id__in=ids).order_by("id")
    locked = {account.id: account for account in accounts}
    missing = set(ids) - set(locked)
    if missing:
        raise Account.DoesNotExist(f"ledger accounts {sorted(missing)} do not exist")
    return locked


def lock_hold(hold_id: int) -> Hold:
    """Step 6: lock one hold, before any account. Call inside transaction.atomic."""
    return Hold.objects.select_for_update(no_key=True).get(pk=hold_id)


def _backoff_seconds(attempt: int) -> float:
    """Full jitter: uniform in [0, base * 2**(attempt - 1)] milliseconds, so the transactions that
    collided do not collide again in step."""
    return random.uniform(0, settings.LOCK_CONFLICT_RETRY_BACKOFF_MS * 2 ** (attempt - 1)) / 1000


def retry_on_lock_conflict(func: Callable) -> Callable:
    """Re-run `func`, an outermost service transaction, when PostgreSQL aborts it for a lock
    conflict (deadlock_detected 40P01, serialization_failure 40001, lock_not_available 55P03):
    up to LOCK_CONFLICT_RETRY_ATTEMPTS runs in all, with jittered exponential backoff, each
    retry counted in `wemaster_ledger_lock_conflict_retries_total`.

    Put it above `@transaction.atomic`. Called inside an outer atomic block it runs `func` once
    and lets the database error through: the aborted transaction is the outer one, so only the
    outermost level may retry (the idempotency wrapper is such a level).
    Raises LockConflict (409) when the last attempt still conflicts.
    """
    operation = func.__name__

    @wraps(func)
    def wrapper(*args, **kwargs):
        if transaction.get_connection().in_atomic_block:
            return func(*args, **kwargs)
        attempts = max(1, settings.LOCK_CONFLICT_RETRY_ATTEMPTS)
        for attempt in range(1, attempts + 1):
            try:
                return func(*args, **kwargs)
            except DatabaseError as exc:
                sqlstate = lock_conflict_sqlstate(exc)
                if sqlstate is None:
                    raise
                reason = LOCK_CONFLICT_SQLSTATES[sqlstate]
                if attempt == attempts:
                    lock_conflicts_given_up.labels(operation, reason).inc()
                    logger.warning(
                        "lock conflict outlasted the retries",
                        extra={"operation": operation, "reason": reason, "attempts": attempts},
                    )
                    raise LockConflict() from exc
                lock_conflict_retries.labels(operation, reason).inc()
                time.sleep(_backoff_seconds(attempt))

    return wrapper

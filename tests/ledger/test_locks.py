"""`retry_on_lock_conflict` against real PostgreSQL deadlocks between two threads."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connections, transaction

from tests.accounts.factories import StudentFactory
from tests.ledger.factories import funded_wallet
from wemaster.core.errors import LockConflict, api_exception_handler, lock_conflict_sqlstate
from wemaster.ledger.locks import retry_on_lock_conflict
from wemaster.ledger.metrics import lock_conflict_retries, lock_conflicts_given_up
from wemaster.ledger.models import Account


def retries(operation: str) -> float:
    return lock_conflict_retries.labels(operation, "deadlock_detected")._value.get()


def given_up(operation: str) -> float:
    return lock_conflicts_given_up.labels(operation, "deadlock_detected")._value.get()


class CrossedLocks:
    """Two transactions that lock two accounts in opposite orders, both holding their first lock
    before either asks for its second: PostgreSQL must abort one of them (40P01)."""

    def __init__(self):
        self.first, self.second = (funded_wallet(StudentFactory(), 100).id for _ in range(2))
        self.runs = Counter()
        self.both_hold_one = threading.Barrier(2, timeout=10)

    def lock_both(self, name: str, first: int, second: int) -> str:
        self.runs[name] += 1
        Account.objects.select_for_update().get(pk=first)
        if self.runs[name] == 1:
            self.both_hold_one.wait()
        Account.objects.select_for_update().get(pk=second)
        return name


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_deadlock_loser_is_retried_and_succeeds():
    crossed = CrossedLocks()

    @retry_on_lock_conflict
    @transaction.atomic
    def swap(name, first, second):
        return crossed.lock_both(name, first, second)

    before = retries("swap")

    def run(args):
        try:
            return swap(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(run, [("a", crossed.first, crossed.second), ("b", crossed.second, crossed.first)]))
    assert outcomes == ["a", "b"]
    assert sorted(crossed.runs.values()) == [1, 2]  # the loser ran again, once
    assert retries("swap") == before + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_inside_an_outer_transaction_the_conflict_is_left_to_the_outer_level():
    crossed = CrossedLocks()

    @retry_on_lock_conflict
    @transaction.atomic
    def swap_inside(name, first, second):
        return crossed.lock_both(name, first, second)

    before = retries("swap_inside")

    def run(args):
        try:
            with transaction.atomic():  # the caller's transaction is the one PostgreSQL aborts
                return swap_inside(*args)
        except OperationalError as exc:
            return lock_conflict_sqlstate(exc)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(run, [("a", crossed.first, crossed.second), ("b", crossed.second, crossed.first)]))
    assert outcomes in (["40P01", "b"], ["40P01", "a"])
    assert crossed.runs == {"a": 1, "b": 1}  # nobody re-ran inside the doomed transaction
    assert retries("swap_inside") == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_conflict_that_outlasts_the_attempts_is_a_409_lock_conflict(settings):
    settings.LOCK_CONFLICT_RETRY_ATTEMPTS = 1
    crossed = CrossedLocks()

    @retry_on_lock_conflict
    @transaction.atomic
    def swap_once(name, first, second):
        return crossed.lock_both(name, first, second)

    before = given_up("swap_once")

    def run(args):
        try:
            return swap_once(*args)
        except LockConflict as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(run, [("a", crossed.first, crossed.second), ("b", crossed.second, crossed.first)]))
    conflicts = [outcome for outcome in outcomes if isinstance(outcome, LockConflict)]
    assert len(conflicts) == 1 and given_up("swap_once") == before + 1
    response = api_exception_handler(conflicts[0], {})
    assert (response.status_code, response.data["code"]) == (409, "lock_conflict")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unretried_lock_conflict_reaching_the_api_is_409_not_503():
    crossed = CrossedLocks()

    def run(args):
        try:
            with transaction.atomic():
                return crossed.lock_both(*args)
        except OperationalError as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(run, [("a", crossed.first, crossed.second), ("b", crossed.second, crossed.first)]))
    (error,) = [outcome for outcome in outcomes if isinstance(outcome, OperationalError)]
    response = api_exception_handler(error, {})
    assert (response.status_code, response.data["code"]) == (409, "lock_conflict")

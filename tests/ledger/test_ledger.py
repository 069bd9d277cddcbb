import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from tests.accounts.factories import StudentFactory, TutorFactory
from tests.ledger.factories import funded_wallet
from wemaster.ledger import services
from wemaster.ledger.errors import (
    DuplicateTransfer,
    HoldAlreadyResolved,
    InsufficientFunds,
    OverCapture,
    ReceivableOverpaid,
)
from wemaster.ledger.models import Account, AccountKind, Entry, Hold, HoldStatus, TransferKind
from wemaster.ledger.reconcile import find_discrepancies

USD = settings.CURRENCY


def capture_accounts():
    """Where captures go in these engine-level tests: a plain payee wallet and platform revenue.
    Not a tutor account: a tutor's accounts must match the tutor's earnings (earnings' reconcile),
    and these tests move money without any."""
    payee = services.student_wallet_account(student=StudentFactory(), currency=USD)
    revenue = services.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=USD)
    return payee, revenue


@pytest.mark.django_db
def test_transfer_moves_money_and_writes_balanced_entries():
    wallet = funded_wallet(StudentFactory(), 10_000)
    assert (wallet.balance, wallet.held, wallet.available) == (10_000, 0, 10_000)
    entries = list(Entry.objects.filter(account=wallet))
    assert [(e.amount, e.balance_after) for e in entries] == [(10_000, 10_000)]
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_same_business_event_moves_money_once():
    wallet = funded_wallet(StudentFactory(), 500)
    external = services.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=USD)
    legs = [services.Leg(external.id, -100), services.Leg(wallet.id, 100)]
    services.transfer(kind=TransferKind.TOP_UP, reference="topup:1", currency=USD, legs=legs)
    with pytest.raises(DuplicateTransfer):
        services.transfer(kind=TransferKind.TOP_UP, reference="topup:1", currency=USD, legs=legs)
    wallet.refresh_from_db()
    assert wallet.balance == 600


@pytest.mark.django_db
def test_debit_beyond_available_is_refused_and_changes_nothing():
    wallet = funded_wallet(StudentFactory(), 1_000)
    services.hold_create(account=wallet, amount=700, reference="h1")
    revenue = services.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=USD)
    with pytest.raises(InsufficientFunds):
        services.transfer(
            kind=TransferKind.ADJUSTMENT,
            reference="adj",
            currency=USD,
            legs=[services.Leg(wallet.id, -400), services.Leg(revenue.id, 400)],
        )
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (1_000, 700)


@pytest.mark.django_db
def test_hold_capture_splits_and_releases_the_rest():
    wallet = funded_wallet(StudentFactory(), 5_000)
    payee, revenue = capture_accounts()
    hold = services.hold_create(account=wallet, amount=4_000, reference="lesson:1:hold")
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held, wallet.available) == (5_000, 4_000, 1_000)
    services.hold_capture(
        hold=hold,
        kind=TransferKind.LESSON_CHARGE,
        reference="lesson:1",
        credits=[services.Leg(payee.id, 2_700), services.Leg(revenue.id, 900)],
    )
    wallet.refresh_from_db()
    payee.refresh_from_db()
    assert (wallet.balance, wallet.held) == (1_400, 0)
    assert payee.balance == 2_700
    hold.refresh_from_db()
    assert hold.status == HoldStatus.POSTED and hold.transfer is not None
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_over_capture_is_refused():
    wallet = funded_wallet(StudentFactory(), 1_000)
    payee, _ = capture_accounts()
    hold = services.hold_create(account=wallet, amount=500, reference="h")
    with pytest.raises(OverCapture):
        services.hold_capture(
            hold=hold, kind=TransferKind.LESSON_CHARGE, reference="x", credits=[services.Leg(payee.id, 501)]
        )
    hold.refresh_from_db()
    assert hold.status == HoldStatus.PENDING


@pytest.mark.django_db
def test_hold_resolves_exactly_once():
    wallet = funded_wallet(StudentFactory(), 1_000)
    payee, _ = capture_accounts()
    hold = services.hold_create(account=wallet, amount=500, reference="h")
    services.hold_void(hold=hold)
    with pytest.raises(HoldAlreadyResolved):
        services.hold_void(hold=hold)
    with pytest.raises(HoldAlreadyResolved):
        services.hold_capture(
            hold=hold, kind=TransferKind.LESSON_CHARGE, reference="x", credits=[services.Leg(payee.id, 5)]
        )
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held) == (1_000, 0)


def _run_threads(count: int, workers: int, fn):
    barrier = threading.Barrier(workers)
    results = []
    lock = threading.Lock()

    def worker(indexes):
        barrier.wait()
        try:
            for index in indexes:
                outcome = fn(index)
                with lock:
                    results.append(outcome)
        finally:
            connection.close()

    chunks = [range(i, count, workers) for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(worker, chunks))
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_200_concurrent_holds_against_100_dollars():
    wallet = funded_wallet(StudentFactory(), 10_000)

    def hold(index):
        try:
            services.hold_create(account=wallet, amount=100, reference=f"race:{index}")
            return "ok"
        except InsufficientFunds:
            return "insufficient_funds"

    results = _run_threads(200, 16, hold)
    assert results.count("ok") == 100
    assert results.count("insufficient_funds") == 100
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.held, wallet.available) == (10_000, 10_000, 0)
    assert Hold.objects.filter(status=HoldStatus.PENDING).count() == 100
    assert find_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_capture_and_void_of_one_hold_one_wins():
    wallet = funded_wallet(StudentFactory(), 1_000)
    payee, revenue = capture_accounts()
    holds = [services.hold_create(account=wallet, amount=50, reference=f"h{i}") for i in range(10)]

    for hold in holds:

        def act(index, hold=hold):
            try:
                if index % 2:
                    services.hold_void(hold=hold)
                    return "voided"
                services.hold_capture(
                    hold=hold,
                    kind=TransferKind.LESSON_CHARGE,
                    reference=f"charge:{hold.id}",
                    credits=[services.Leg(payee.id, 40), services.Leg(revenue.id, 10)],
                )
                return "posted"
            except HoldAlreadyResolved:
                return "lost"

        results = _run_threads(4, 4, act)
        assert results.count("lost") == 3
    wallet.refresh_from_db()
    posted = Hold.objects.filter(status=HoldStatus.POSTED).count()
    assert wallet.held == 0
    assert wallet.balance == 1_000 - 50 * posted
    assert find_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_refuses_negative_wallet_balance():
    wallet = funded_wallet(StudentFactory(), 100)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET balance = -1 WHERE id = %s", [wallet.id])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_refuses_held_above_balance():
    wallet = funded_wallet(StudentFactory(), 100)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET held = 101 WHERE id = %s", [wallet.id])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_refuses_unbalanced_transfer_at_commit():
    wallet = funded_wallet(StudentFactory(), 100)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_transfer (kind, reference, currency, description, created_at)"
            " VALUES ('adjustment', 'raw', 'USD', '', now()) RETURNING id"
        )
        (transfer_id,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO ledger_entry (transfer_id, account_id, amount, balance_after, created_at)"
            " VALUES (%s, %s, 50, 150, now())",
            [transfer_id, wallet.id],
        )
    assert not Entry.objects.filter(amount=50).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_refuses_zero_entry_and_edits_of_entries():
    wallet = funded_wallet(StudentFactory(), 100)
    entry = Entry.objects.get(account=wallet)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_entry (transfer_id, account_id, amount, balance_after, created_at)"
            " VALUES (%s, %s, 0, 100, now())",
            [entry.transfer_id, wallet.id],
        )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_entry SET amount = 1 WHERE id = %s", [entry.id])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_entry WHERE id = %s", [entry.id])


@pytest.mark.django_db
def test_reconcile_is_clean_on_a_random_workload_and_finds_injected_faults(capsys):
    import random

    rng = random.Random(7)
    payee, revenue = capture_accounts()
    wallets = [funded_wallet(StudentFactory(), rng.randint(1_000, 5_000)) for _ in range(5)]
    for index in range(60):
        wallet = rng.choice(wallets)
        try:
            hold = services.hold_create(account=wallet, amount=rng.randint(1, 900), reference=f"w{index}")
        except InsufficientFunds:
            continue
        if rng.random() < 0.6:
            fee = hold.amount // 4
            credits = [services.Leg(payee.id, hold.amount - fee)] + ([services.Leg(revenue.id, fee)] if fee else [])
            services.hold_capture(hold=hold, kind=TransferKind.LESSON_CHARGE, reference=f"c{index}", credits=credits)
        elif rng.random() < 0.5:
            services.hold_void(hold=hold)
    call_command("reconcile")
    assert "every invariant holds" in capsys.readouterr().out

    Account.objects.filter(pk=wallets[0].pk).update(balance=wallets[0].balance + 1, held=0)
    with pytest.raises(SystemExit) as exit_info:
        call_command("reconcile")
    assert exit_info.value.code == 1
    assert f"account {wallets[0].pk} balance" in capsys.readouterr().err


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reconcile_names_an_unbalanced_transfer_written_around_the_guard():
    wallet = funded_wallet(StudentFactory(), 100)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_entry DISABLE TRIGGER USER")
        try:
            cursor.execute(
                "INSERT INTO ledger_transfer (kind, reference, currency, description, created_at)"
                " VALUES ('adjustment', 'bad', 'USD', '', now()) RETURNING id"
            )
            (transfer_id,) = cursor.fetchone()
            cursor.execute(
                "INSERT INTO ledger_entry (transfer_id, account_id, amount, balance_after, created_at)"
                " VALUES (%s, %s, 7, 107, now())",
                [transfer_id, wallet.id],
            )
        finally:
            cursor.execute("ALTER TABLE ledger_entry ENABLE TRIGGER USER")
    problems = find_discrepancies()
    assert any(f"transfer {transfer_id} entries sum to 7" in p for p in problems)


@pytest.mark.django_db
def test_wallet_debit_event_is_sent_only_after_commit(django_capture_on_commit_callbacks):
    from wemaster.ledger.signals import student_wallet_debited

    wallet = funded_wallet(StudentFactory(), 1_000)
    received = []

    def receiver(sender, account_id, trigger, **kwargs):
        received.append((account_id, trigger))

    student_wallet_debited.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=False) as rolled_back:
            try:
                with transaction.atomic():
                    services.hold_create(account=wallet, amount=100, reference="rolled-back")
                    raise RuntimeError("abort")
            except RuntimeError:
                pass
        assert rolled_back == [] and received == []
        with django_capture_on_commit_callbacks(execute=True):
            hold = services.hold_create(account=wallet, amount=100, reference="kept")
        assert received == [(wallet.id, f"hold:{hold.id}")]
        revenue = services.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=USD)
        with django_capture_on_commit_callbacks(execute=True):
            charge = services.transfer(
                kind=TransferKind.ADJUSTMENT,
                reference="fee",
                currency=USD,
                legs=[services.Leg(wallet.id, -50), services.Leg(revenue.id, 50)],
            )
        assert received[1:] == [(wallet.id, f"transfer:{charge.id}")]
    finally:
        student_wallet_debited.disconnect(receiver)


def receivable_of(user):
    return services.account_for(kind=AccountKind.TUTOR_RECEIVABLE, currency=USD, owner=user)


@pytest.mark.django_db
def test_a_receivable_goes_negative_by_what_is_owed_and_is_never_repaid_beyond_it():
    tutor = TutorFactory()
    receivable = receivable_of(tutor)
    external = services.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=USD)
    services.transfer(
        kind=TransferKind.ADJUSTMENT,
        reference="advance",
        currency=USD,
        legs=[services.Leg(receivable.id, -300), services.Leg(external.id, 300)],
    )
    with pytest.raises(ReceivableOverpaid):
        services.transfer(
            kind=TransferKind.ADJUSTMENT,
            reference="overpay",
            currency=USD,
            legs=[services.Leg(external.id, -301), services.Leg(receivable.id, 301)],
        )
    services.transfer(
        kind=TransferKind.ADJUSTMENT,
        reference="repay",
        currency=USD,
        legs=[services.Leg(external.id, -300), services.Leg(receivable.id, 300)],
    )
    receivable.refresh_from_db()
    assert receivable.balance == 0
    assert Entry.objects.filter(account=receivable).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_refuses_a_positive_receivable_and_allows_a_negative_one():
    receivable = receivable_of(TutorFactory())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET balance = -5 WHERE id = %s", [receivable.id])
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_account SET balance = 1 WHERE id = %s", [receivable.id])


@pytest.mark.postgres
@pytest.mark.django_db
def test_reconcile_flags_a_positive_receivable_written_around_the_guard():
    receivable = receivable_of(TutorFactory())
    with connection.cursor() as cursor:  # DDL is transactional: the test's rollback restores the guard
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE needs no deferred check pending
        cursor.execute("ALTER TABLE ledger_account DROP CONSTRAINT ledger_account_receivable_not_positive")
        cursor.execute("UPDATE ledger_account SET balance = 7 WHERE id = %s", [receivable.id])
    problems = find_discrepancies()
    assert f"no_positive_receivables: account {receivable.id} (tutor_receivable) balance 7 is positive" in problems

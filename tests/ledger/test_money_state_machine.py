"""Money at the boundary with the payment provider, as a stateful property test (issue 13).

Hypothesis drives the services the way the API, Celery and beat do: students top up (any card,
any amount, with or without a client key, repeating keys), auto-reload runs (new and repeated
triggers), students spend, tutors earn, withdraw, are paid out and retried, and `recover` runs
the resolvers (`top_ups_resolve_unresolved` past PAYMENTS_RECOVERY_AFTER_SECONDS, the payout
again for every withdrawal in flight). Every call to the provider may meet a fault:

    transient        the provider refuses before moving money
    timeout_after    the money moved, the answer was lost
    killed_after     the money moved, our process died before it heard (ProcessKilled)
    commit failure   the money moved, the settling transaction failed (its INSERT into the
                     ledger's transfers or entries raises OperationalError)

A model predicts the provider's record (the sandbox's rules per token and fault) and the
ledger. After every step: each top-up and withdrawal has the status the model expects, the
provider holds exactly the records the model expects, balances equal the model, and the
reconcile checks of the ledger and of the provider boundary find nothing (no negative balance,
transfers sum to zero, balances equal their entries, nothing credited or paid that the provider
does not hold). After `recover` (and at the end of every example): nothing is unresolved, each
succeeded provider charge is exactly one credited top-up of the same amount, each provider
payout one paid withdrawal, and `find_discrepancies()` is empty.

Each example runs in a savepoint of the test's transaction that is rolled back at its end, and
starts with an empty provider record. HYPOTHESIS_PROFILE=long runs it longer than CI does.
"""

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import hypothesis
import pytest
from django.conf import settings as django_settings
from django.db import OperationalError, connection, transaction
from django.db.models import Sum
from django.utils import timezone
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from earnings import reconcile as earnings_checks
from earnings import services as earnings
from earnings.errors import InsufficientAvailableBalance, WithdrawalInProgress
from earnings.models import Withdrawal, WithdrawalStatus
from tests.accounts.factories import StudentFactory, TutorFactory
from tests.earnings.conftest import fund_available
from tests.wallet.factories import PaymentMethodFactory
from wallet import reconcile as wallet_checks
from wallet import services as wallet_services
from wallet.errors import TopUpKeyReused
from wallet.models import TopUp, TopUpOrigin, TopUpStatus, Wallet
from wemaster.core.payments import GatewayUnavailable, Kind, ProviderStatus, get_gateway
from wemaster.core.payments.sandbox import FLAKY_PENDING_ATTEMPTS, STORE, Fault, ProcessKilled, SandboxGateway
from wemaster.ledger import reconcile as ledger_checks
from wemaster.ledger import services as ledger
from wemaster.ledger.models import Account, AccountKind, Entry, TransferKind

PROFILES = {
    "ci": hypothesis.settings(max_examples=25, stateful_step_count=20, deadline=None, print_blob=True),
    "long": hypothesis.settings(max_examples=400, stateful_step_count=50, deadline=None, print_blob=True),
}
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
# A CI pass takes ~20 s and a found failure is shrunk for up to Hypothesis' 300 s before it is
# reported; the long profile takes about 15 minutes.
TIMEOUT_SECONDS = {"ci": 600, "long": 3 * 3600}[PROFILE]

CARDS = ("tok_visa", "tok_chargeCustomerFail", "tok_timeoutAfterCharge", "tok_processingError")
BANKS = ("btok_ok", "btok_fail", "btok_timeout", "btok_flaky")
STUDENTS, TUTORS = 2, 2
CLIENT_KEYS = ("", "k1", "k2", "k3")  # "": a request without an Idempotency-Key

COMMIT_FAILS_AT_TRANSFER = "commit_fails_at_transfer"
COMMIT_FAILS_AT_ENTRIES = "commit_fails_at_entries"
FAILING_STATEMENT = {
    COMMIT_FAILS_AT_TRANSFER: 'INSERT INTO "ledger_transfer"',
    COMMIT_FAILS_AT_ENTRIES: 'INSERT INTO "ledger_entry"',
}
# None first: Hypothesis shrinks towards it, so a counterexample keeps only the faults it needs.
FAULTS = st.sampled_from([None, None, Fault.TRANSIENT, Fault.TIMEOUT_AFTER, Fault.KILLED_AFTER, *FAILING_STATEMENT])
# After every step, the reconcile checks that concern these flows (all of them after recovery).
STEP_CHECKS = [*ledger_checks.CHECKS, *wallet_checks.CHECKS, earnings_checks.provider_payouts_match_withdrawals]
PICK = st.integers(min_value=0, max_value=63)  # an index into what exists, modulo its length

UNRESOLVED = (TopUpStatus.PENDING, TopUpStatus.PROCESSING)
IN_FLIGHT = (WithdrawalStatus.REQUESTED, WithdrawalStatus.PROCESSING)
# The provider's first record of a key per token (any other token: declined or rejected).
FIRST_STATUS = {
    "tok_visa": ProviderStatus.SUCCEEDED,
    "tok_timeoutAfterCharge": ProviderStatus.SUCCEEDED,
    "btok_ok": ProviderStatus.SUCCEEDED,
    "btok_timeout": ProviderStatus.SUCCEEDED,
    "btok_flaky": ProviderStatus.PENDING,
}
TIMES_OUT_FIRST = {"tok_timeoutAfterCharge", "btok_timeout"}


@dataclass
class Record:
    """The provider's record of one key, as the model expects it."""

    status: str
    amount: int
    attempts: int = 1


@dataclass
class TopUpModel:
    id: int
    student: int
    amount: int
    token: str
    provider_key: str
    origin: str
    status: str = TopUpStatus.PENDING


@dataclass
class WithdrawalModel:
    id: int
    tutor: int
    amount: int
    token: str
    provider_key: str
    status: str = WithdrawalStatus.REQUESTED


@dataclass
class StudentModel:
    balance: int = 0
    held: int = 0
    reload_enabled: bool = False
    reload_threshold: int = 0
    reload_amount: int = 0
    reload_cap: int = 0
    reload_token: str = ""
    reload_failures: int = 0

    @property
    def available(self) -> int:
        return self.balance - self.held


@dataclass
class TutorModel:
    available: int = 0
    clearing: int = 0


@contextmanager
def boundary_fault(fault: str | None):
    """The fault for this step's provider call (or its settling transaction); none survives the step."""
    SandboxGateway.clear_injected()
    try:
        if fault in FAILING_STATEMENT:
            prefix = FAILING_STATEMENT[fault]

            def fail(execute, sql, params, many, context):
                if sql.startswith(prefix):
                    raise OperationalError(f"injected: the settling transaction failed at {prefix}")
                return execute(sql, params, many, context)

            with connection.execute_wrapper(fail):
                yield
        else:
            if fault is not None:
                SandboxGateway.inject(fault)
            yield
    finally:
        SandboxGateway.clear_injected()


def outcome_of(call, *refusals: type[Exception]) -> tuple[object, type | None]:
    """(the result, the type of the crash, transient failure or refusal it ended with, if any)."""
    try:
        return call(), None
    except (GatewayUnavailable, ProcessKilled, OperationalError, *refusals) as exc:
        return None, type(exc)


class MoneyAtTheBoundary(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # The example's savepoint counts as the test case's own block: the provider guard
        # (no provider call inside transaction.atomic) ignores it, as it ignores the test's.
        self._example = transaction.atomic()
        self._example._from_testcase = True
        self._example.__enter__()
        STORE.reset()
        SandboxGateway.clear_injected()
        self.records: dict[tuple[str, str], Record] = {}
        self.top_ups: dict[int, TopUpModel] = {}
        self.client_keys: dict[tuple[int, str], int] = {}
        self.triggers: dict[tuple[int, str], int] = {}
        self.withdrawals: dict[int, WithdrawalModel] = {}
        self.students = [StudentModel() for _ in range(STUDENTS)]
        self.tutors = [TutorModel() for _ in range(TUTORS)]
        self.external_balance = self.revenue_balance = 0  # the platform's side of every movement
        self.serial = 0
        self.wallets, self.cards = [], []
        for _ in range(STUDENTS):
            wallet = wallet_services.wallet_ensure(student=StudentFactory())
            self.wallets.append(wallet)
            self.cards.append(
                {
                    token: PaymentMethodFactory(wallet=wallet, gateway_token=token, is_default=token == CARDS[0])
                    for token in CARDS
                }
            )
        self.tutor_users, self.banks = [], []
        for _ in range(TUTORS):
            tutor = TutorFactory()
            self.tutor_users.append(tutor)
            self.banks.append({token: earnings.payout_method_add(tutor=tutor, token=token) for token in BANKS})
        self.revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=django_settings.CURRENCY)
        self.external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=django_settings.CURRENCY)
        self.tutor_accounts = [
            (
                earnings.tutor_account(tutor_id=tutor.id, kind=AccountKind.TUTOR_AVAILABLE).id,
                earnings.tutor_account(tutor_id=tutor.id, kind=AccountKind.PAYOUT_CLEARING).id,
            )
            for tutor in self.tutor_users
        ]
        # A start where every rule has something to act on: earnings to withdraw, one wallet reloading.
        for tutor in range(TUTORS):
            self.earn(tutor, 10_000)
        self.auto_reload_configure(0, CARDS[0], threshold=3_000, amount=2_500, months=4, enabled=True)

    def teardown(self):
        try:
            # A step that failed is the counterexample: do not mask it with the final check.
            if sys.exc_info()[0] is None:
                self.recover()
                self.check_statuses()
                self.check_provider_record()
                self.check_balances_and_ledger()
                assert ledger_checks.find_discrepancies() == []
        finally:
            transaction.set_rollback(True)
            self._example.__exit__(None, None, None)

    def next_reference(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}:{self.serial}"

    # --- the provider, as the sandbox behaves (the outside world the model predicts) ----------

    def provider_move(self, kind: str, key: str, token: str, amount: int, fault: str | None) -> str:
        """What one charge or payout call does at the provider, and what the caller hears:
        transient | killed | timeout | pending | failed | succeeded."""
        if fault == Fault.TRANSIENT or token == "tok_processingError":
            return "transient"
        record = self.records.get((kind, key))
        created = record is None
        if created:
            record = self.records[(kind, key)] = Record(FIRST_STATUS.get(token, ProviderStatus.FAILED), amount)
        elif record.status == ProviderStatus.PENDING:
            record.attempts += 1
            if record.attempts > FLAKY_PENDING_ATTEMPTS:
                record.status = ProviderStatus.SUCCEEDED
        if fault == Fault.KILLED_AFTER:
            return "killed"
        if fault == Fault.TIMEOUT_AFTER or (created and token in TIMES_OUT_FIRST):
            return "timeout"
        return record.status

    def provider_cancel(self, kind: str, key: str) -> Record:
        return self.records.setdefault((kind, key), Record(ProviderStatus.FAILED, 0))

    # --- expected effects of the services -----------------------------------------------------

    def expect_top_up_execute(self, top_up: TopUpModel, fault: str | None) -> type | None:
        """`top_up_execute` of the intent: update the model, return the exception it should end with."""
        if top_up.status not in UNRESOLVED:
            return None
        heard = self.provider_move(Kind.CHARGE, top_up.provider_key, top_up.token, top_up.amount, fault)
        if heard == "transient":
            return GatewayUnavailable
        if heard == "killed":
            return ProcessKilled
        if heard == "timeout":
            top_up.status = TopUpStatus.PROCESSING
        elif heard == ProviderStatus.FAILED:
            top_up.status = TopUpStatus.FAILED
        elif fault in FAILING_STATEMENT:
            return OperationalError
        else:
            self.credit(top_up)
        return None

    def credit(self, top_up: TopUpModel) -> None:
        top_up.status = TopUpStatus.SUCCEEDED
        self.students[top_up.student].balance += top_up.amount
        self.external_balance -= top_up.amount

    def expect_pay_out(self, withdrawal: WithdrawalModel, fault: str | None) -> tuple[str | None, type | None]:
        """`withdrawal_pay_out`: update the model, return (the outcome, the exception)."""
        if withdrawal.status not in IN_FLIGHT:
            return earnings.PayoutOutcome.ALREADY_DONE, None
        withdrawal.status = WithdrawalStatus.PROCESSING
        heard = self.provider_move(Kind.PAYOUT, withdrawal.provider_key, withdrawal.token, withdrawal.amount, fault)
        if heard == "killed":
            return None, ProcessKilled
        if heard in ("transient", "timeout", ProviderStatus.PENDING):
            return earnings.PayoutOutcome.RETRY, None
        if fault in FAILING_STATEMENT:
            return None, OperationalError
        tutor = self.tutors[withdrawal.tutor]
        tutor.clearing -= withdrawal.amount
        if heard == ProviderStatus.FAILED:
            withdrawal.status = WithdrawalStatus.FAILED
            tutor.available += withdrawal.amount
            return earnings.PayoutOutcome.FAILED, None
        withdrawal.status = WithdrawalStatus.PAID
        self.external_balance += withdrawal.amount
        return earnings.PayoutOutcome.PAID, None

    def auto_reload_month_total(self, student: int) -> int:
        return sum(
            top_up.amount
            for top_up in self.top_ups.values()
            if top_up.student == student
            and top_up.origin == TopUpOrigin.AUTO_RELOAD
            and top_up.status in (TopUpStatus.SUCCEEDED, *UNRESOLVED)
        )

    def reload_due(self, student: int) -> bool:
        model = self.students[student]
        return (
            model.available < model.reload_threshold
            and self.auto_reload_month_total(student) + model.reload_amount <= model.reload_cap
        )

    # --- students -----------------------------------------------------------------------------

    @rule(
        student=st.integers(0, STUDENTS - 1),
        amount=st.integers(min_value=500, max_value=50_000),
        token=st.sampled_from(CARDS),
        key=st.sampled_from(CLIENT_KEYS),
        fault=FAULTS,
    )
    def top_up(self, student, amount, token, key, fault):
        """POST /wallet/top-ups, whatever the key was used for before."""
        self.top_up_request(student, amount, token, key, fault)

    @precondition(lambda self: self.client_keys)
    @rule(pick=PICK, fault=FAULTS)
    def top_up_retry(self, pick, fault):
        """The client sends the same request again with its key (a retry after a 202, a 5xx, a crash)."""
        student, key = sorted(self.client_keys)[pick % len(self.client_keys)]
        top_up = self.top_ups[self.client_keys[(student, key)]]
        self.top_up_request(student, top_up.amount, top_up.token, key, fault)

    def top_up_request(self, student, amount, token, key, fault):
        wallet, method = self.wallets[student], self.cards[student][token]
        with boundary_fault(fault):
            result, crash = outcome_of(
                lambda: wallet_services.top_up_create(
                    wallet=wallet, amount=amount, payment_method_id=method.pk, idempotency_key=key or None
                ),
                TopUpKeyReused,
            )
        existing = self.top_ups.get(self.client_keys.get((student, key)))
        if existing is not None and (existing.amount, existing.token) != (amount, token):
            assert crash is TopUpKeyReused, "a client key is never used for another charge"
            return
        if existing is None:
            row = TopUp.objects.filter(wallet=wallet).order_by("-id").first()
            assert row is not None and row.id not in self.top_ups, "the request committed no intent"
            existing = self.top_ups[row.id] = TopUpModel(
                row.id, student, amount, token, row.provider_key, TopUpOrigin.STUDENT
            )
            if key:
                self.client_keys[(student, key)] = row.id
        assert crash is self.expect_top_up_execute(existing, fault)
        if result is not None:
            assert (result.id, result.status) == (existing.id, existing.status)

    @rule(
        student=st.integers(0, STUDENTS - 1),
        token=st.sampled_from(CARDS[:3]),
        threshold=st.sampled_from([1_000, 3_000, 6_000]),
        amount=st.sampled_from([1_000, 2_500, 5_000]),
        months=st.sampled_from([1, 2, 4]),
        enabled=st.booleans(),
    )
    def auto_reload_configure(self, student, token, threshold, amount, months, enabled):
        wallet_services.auto_reload_configure(
            wallet=self.wallets[student],
            enabled=enabled,
            threshold=threshold,
            amount=amount,
            monthly_cap=amount * months,
            payment_method_id=self.cards[student][token].pk,
        )
        model = self.students[student]
        model.reload_enabled, model.reload_threshold, model.reload_amount = enabled, threshold, amount
        model.reload_cap, model.reload_token = amount * months, token
        if enabled:
            model.reload_failures = 0

    @rule(student=st.integers(0, STUDENTS - 1), fault=FAULTS)
    def auto_reload(self, student, fault):
        """The auto-reload task for a new debit of this wallet."""
        self.auto_reload_run(student, self.next_reference("debit"), fault)

    @precondition(lambda self: self.triggers)
    @rule(pick=PICK, fault=FAULTS)
    def auto_reload_redelivered(self, pick, fault):
        """The task again for a trigger already seen (Celery's retry, a redelivery after a crash)."""
        student, trigger = sorted(self.triggers)[pick % len(self.triggers)]
        self.auto_reload_run(student, trigger, fault)

    def auto_reload_run(self, student, trigger, fault):
        wallet = self.wallets[student]
        model = self.students[student]
        with boundary_fault(fault):
            result, crash = outcome_of(lambda: wallet_services.auto_reload_run(wallet_id=wallet.id, trigger=trigger))
        known = self.top_ups.get(self.triggers.get((student, trigger)))
        if not model.reload_enabled or (known is None and not self.reload_due(student)):
            assert (result, crash) == (None, None)
            assert not TopUp.objects.filter(wallet=wallet, trigger=trigger).exclude(id__in=list(self.top_ups)).exists()
            return
        if known is None:
            row = TopUp.objects.get(wallet=wallet, trigger=trigger)
            known = self.top_ups[row.id] = TopUpModel(
                row.id, student, model.reload_amount, model.reload_token, row.provider_key, TopUpOrigin.AUTO_RELOAD
            )
            self.triggers[(student, trigger)] = row.id
        elif known.status not in UNRESOLVED:
            assert (result, crash) == (None, None)
            return
        assert crash is self.expect_top_up_execute(known, fault)
        if crash is not None:
            return
        assert (result.id, result.status) == (known.id, known.status)
        if known.status == TopUpStatus.FAILED:
            model.reload_failures += 1
            if model.reload_failures >= django_settings.WALLET_AUTO_RELOAD_MAX_FAILURES:
                model.reload_enabled = False
        elif known.status == TopUpStatus.SUCCEEDED:
            model.reload_failures = 0

    @rule(student=st.integers(0, STUDENTS - 1), share=st.integers(1, 4), hold=st.booleans())
    def spend(self, student, share, hold):
        """A booking's hold (kept) or a charge (moved to the platform) of a share of what is available."""
        model = self.students[student]
        amount = model.available * share // 4
        if amount <= 0:
            return
        account = self.wallets[student].account
        if hold:
            ledger.hold_create(account=account, amount=amount, reference=self.next_reference("hold"))
            model.held += amount
        else:
            ledger.transfer(
                kind=TransferKind.ADJUSTMENT,
                reference=self.next_reference("spend"),
                currency=django_settings.CURRENCY,
                legs=[ledger.Leg(account.id, -amount), ledger.Leg(self.revenue.id, amount)],
            )
            model.balance -= amount
            self.revenue_balance += amount

    # --- tutors -------------------------------------------------------------------------------

    @rule(tutor=st.integers(0, TUTORS - 1), amount=st.integers(min_value=1_000, max_value=20_000))
    def earn(self, tutor, amount):
        """An earning of `amount` net, cleared into available (as the booking flow and clearance do)."""
        fund_available(self.tutor_users[tutor], amount)
        self.tutors[tutor].available += amount
        self.external_balance -= amount

    @rule(
        tutor=st.integers(0, TUTORS - 1),
        amount=st.integers(min_value=2_000, max_value=8_000),
        bank=st.sampled_from(BANKS),
    )
    def withdraw(self, tutor, amount, bank):
        model = self.tutors[tutor]
        in_flight = any(w.tutor == tutor and w.status in IN_FLIGHT for w in self.withdrawals.values())
        expected = InsufficientAvailableBalance if amount > model.available else None
        expected = expected or (WithdrawalInProgress if in_flight else None)
        try:
            withdrawal = earnings.withdrawal_request(
                tutor=self.tutor_users[tutor], amount=amount, payout_method_id=self.banks[tutor][bank].pk
            )
        except (InsufficientAvailableBalance, WithdrawalInProgress) as exc:
            assert type(exc) is expected
            return
        assert expected is None
        self.withdrawals[withdrawal.id] = WithdrawalModel(withdrawal.id, tutor, amount, bank, withdrawal.provider_key)
        model.available -= amount
        model.clearing += amount

    @precondition(lambda self: self.withdrawals)
    @rule(pick=PICK, fault=FAULTS)
    def pay_out(self, pick, fault):
        """The payout task for a withdrawal (first delivery, retry, redelivery after a crash)."""
        withdrawal = self.withdrawals[sorted(self.withdrawals)[pick % len(self.withdrawals)]]
        with boundary_fault(fault):
            result, crash = outcome_of(lambda: earnings.withdrawal_pay_out(withdrawal_id=withdrawal.id))
        assert (result, crash) == self.expect_pay_out(withdrawal, fault)

    @precondition(lambda self: any(w.status == WithdrawalStatus.FAILED for w in self.withdrawals.values()))
    @rule(pick=PICK)
    def staff_retry(self, pick):
        """Staff retry a failed payout: a new round with a new provider key."""
        failed = sorted(i for i, w in self.withdrawals.items() if w.status == WithdrawalStatus.FAILED)
        withdrawal = self.withdrawals[failed[pick % len(failed)]]
        model = self.tutors[withdrawal.tutor]
        in_flight = any(w.tutor == withdrawal.tutor and w.status in IN_FLIGHT for w in self.withdrawals.values())
        try:
            row = earnings.withdrawal_retry(withdrawal_id=withdrawal.id)
        except (InsufficientAvailableBalance, WithdrawalInProgress) as exc:
            assert type(exc) is (WithdrawalInProgress if in_flight else InsufficientAvailableBalance)
            return
        assert not in_flight and withdrawal.amount <= model.available
        assert row.provider_key != withdrawal.provider_key
        withdrawal.provider_key, withdrawal.status = row.provider_key, WithdrawalStatus.REQUESTED
        model.available -= withdrawal.amount
        model.clearing += withdrawal.amount

    # --- recovery -----------------------------------------------------------------------------

    @rule()
    def recover(self):
        """Beat's resolvers once the recovery window has passed, then the provider and the ledger
        must agree to the cent (the invariants then check the rest; `find_discrepancies()` in full
        runs at the end of the example)."""
        SandboxGateway.clear_injected()
        later = timezone.now() + timedelta(seconds=django_settings.PAYMENTS_RECOVERY_AFTER_SECONDS + 1)
        wallet_services.top_ups_resolve_unresolved(now=later)
        for top_up in self.top_ups.values():
            if top_up.status in UNRESOLVED:
                if self.provider_cancel(Kind.CHARGE, top_up.provider_key).status == ProviderStatus.SUCCEEDED:
                    self.credit(top_up)
                else:
                    top_up.status = TopUpStatus.FAILED
        for withdrawal in self.withdrawals.values():
            for _ in range(FLAKY_PENDING_ATTEMPTS + 2):
                if withdrawal.status not in IN_FLIGHT:
                    break
                outcome = earnings.withdrawal_pay_out(withdrawal_id=withdrawal.id)
                assert (outcome, None) == self.expect_pay_out(withdrawal, None)
        self.check_provider_and_ledger_agree()

    def check_provider_and_ledger_agree(self):
        assert not TopUp.objects.filter(status__in=UNRESOLVED).exists()
        assert not Withdrawal.objects.filter(status__in=IN_FLIGHT).exists()
        gateway = get_gateway()
        charges = {r.key: r.amount for r in gateway.records(kind=Kind.CHARGE) if r.succeeded}
        credited = dict(TopUp.objects.filter(status=TopUpStatus.SUCCEEDED).values_list("provider_key", "amount"))
        assert charges == credited, "each succeeded charge is exactly one credited top-up of the same amount"
        into_wallets = Entry.objects.filter(
            transfer__kind=TransferKind.TOP_UP, account__kind=AccountKind.STUDENT_WALLET
        ).aggregate(total=Sum("amount"))["total"]
        assert (into_wallets or 0) == sum(charges.values()), "the wallets were credited what the cards were charged"
        payouts = {r.key: r.amount for r in gateway.records(kind=Kind.PAYOUT) if r.succeeded}
        paid = dict(Withdrawal.objects.filter(status=WithdrawalStatus.PAID).values_list("provider_key", "amount"))
        assert payouts == paid, "each provider payout is exactly one paid withdrawal of the same amount"

    # --- after every step ---------------------------------------------------------------------

    @invariant()
    def check_statuses(self):
        enabled = dict(Wallet.objects.values_list("id", "auto_reload_enabled"))
        assert enabled == {w.id: m.reload_enabled for w, m in zip(self.wallets, self.students, strict=True)}
        top_ups = dict(TopUp.objects.values_list("id", "status"))
        assert top_ups == {i: t.status for i, t in self.top_ups.items()}
        withdrawals = dict(Withdrawal.objects.values_list("id", "status"))
        assert withdrawals == {i: w.status for i, w in self.withdrawals.items()}

    @invariant()
    def check_provider_record(self):
        actual = {(r.kind, r.key): (r.status, r.amount) for r in get_gateway().records()}
        assert actual == {key: (r.status, r.amount) for key, r in self.records.items()}

    @invariant()
    def check_balances_and_ledger(self):
        accounts = {a.id: a for a in Account.objects.all()}
        for wallet, model in zip(self.wallets, self.students, strict=True):
            account = accounts[wallet.account_id]
            assert (account.balance, account.held) == (model.balance, model.held), f"wallet {wallet.id}"
        for (available, clearing), model in zip(self.tutor_accounts, self.tutors, strict=True):
            assert (accounts[available].balance, accounts[clearing].balance) == (model.available, model.clearing)
        assert accounts[self.external.id].balance == self.external_balance
        assert accounts[self.revenue.id].balance == self.revenue_balance
        assert [problem for check in STEP_CHECKS for problem in check()] == []


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.timeout(TIMEOUT_SECONDS)
def test_the_provider_and_the_ledger_agree_to_the_cent_whatever_fails(settings):
    settings.PAYMENT_SANDBOX_TRANSIENT_RATE = settings.PAYMENT_SANDBOX_TIMEOUT_RATE = 0.0
    settings.PAYMENT_SANDBOX_LATENCY_MS = 0
    settings.EARNINGS_MIN_PAYOUT_MINOR = 2_000
    settings.WALLET_TOP_UP_MIN_MINOR, settings.WALLET_TOP_UP_MAX_MINOR = 500, 100_000
    run_state_machine_as_test(MoneyAtTheBoundary, settings=PROFILES[PROFILE])

"""The seam with the payment provider (issue: credit without a charge, charge without a credit).

The sandbox provider keeps its record through a connection of its own, so what it charged
stays charged whatever our transactions do; these tests check the ledger against that record.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from earnings import services as earnings
from earnings.models import WithdrawalStatus
from tests.earnings.conftest import fund_available
from tests.lessons.factories import tutor_teaching
from tests.wallet.factories import PaymentMethodFactory, wallet_for
from wallet import services
from wallet.models import PaymentMethod, TopUp, TopUpStatus
from wemaster.core.models import IdempotencyKey
from wemaster.core.payments import Kind, ProviderCallInTransaction, get_gateway
from wemaster.core.payments.sandbox import STORE, Fault, ProcessKilled, SandboxGateway
from wemaster.core.tasks import idempotency_keys_prune
from wemaster.ledger.models import Transfer, TransferKind
from wemaster.ledger.reconcile import find_discrepancies

TOP_UPS = "/api/v1/wallet/top-ups"


def after_recovery_window(settings):
    return timezone.now() + timedelta(seconds=settings.PAYMENTS_RECOVERY_AFTER_SECONDS + 1)


def credited(wallet) -> int:
    wallet.account.refresh_from_db()
    return wallet.account.balance


def provider_charged() -> int:
    return sum(call.amount for call in get_gateway().records(kind=Kind.CHARGE) if call.succeeded)


@pytest.fixture
def card(wallet):
    return PaymentMethodFactory(wallet=wallet)


@pytest.mark.django_db
def test_an_old_key_can_never_credit_a_new_amount(student_client, wallet, card):
    """Scenario 1: K with 5.00, the key cache expires, K again with 1000.00."""
    assert student_client.post(TOP_UPS, {"amount": "5.00"}, HTTP_IDEMPOTENCY_KEY="K").status_code == 201
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=49))
    assert idempotency_keys_prune.delay().get() == 1
    response = student_client.post(TOP_UPS, {"amount": "1000.00"}, HTTP_IDEMPOTENCY_KEY="K")
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_reused"
    assert TopUp.objects.count() == 1
    assert credited(wallet) == provider_charged() == 500
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_the_provider_is_never_called_inside_a_transaction(wallet, card):
    top_up = services.top_up_begin(wallet=wallet, amount=2_000, payment_method=card)
    with pytest.raises(ProviderCallInTransaction), transaction.atomic():
        services.top_up_execute(top_up=top_up)
    with pytest.raises(ProviderCallInTransaction), transaction.atomic():
        get_gateway().payout(destination="btok_ok", amount=1, currency="USD", idempotency_key="x")
    assert get_gateway().records() == []


@pytest.mark.django_db
def test_a_lost_answer_after_the_charge_is_202_then_settled_by_a_retry(student_client, wallet):
    PaymentMethodFactory(wallet=wallet, gateway_token="tok_timeoutAfterCharge")
    first = student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="slow")
    assert first.status_code == 202
    assert (first.json()["status"], first.json()["transaction"]) == ("processing", None)
    top_up_id = first.json()["id"]
    assert student_client.get(f"{TOP_UPS}/{top_up_id}").json()["status"] == "processing"
    assert credited(wallet) == 0 and provider_charged() == 2_000  # charged, not yet credited
    retry = student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="slow")
    assert retry.status_code == 201 and retry.json()["id"] == top_up_id and retry.json()["status"] == "succeeded"
    assert credited(wallet) == provider_charged() == 2_000
    assert len(get_gateway().records()) == 1
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_a_lost_answer_is_settled_by_the_resolver_from_the_provider_record(wallet, card, settings):
    SandboxGateway.inject(Fault.TIMEOUT_AFTER)
    top_up = services.top_up_create(wallet=wallet, amount=3_000)
    assert top_up.status == TopUpStatus.PROCESSING
    assert services.top_ups_resolve_unresolved() == {}  # inside the window a request may still be running
    assert services.top_ups_resolve_unresolved(now=after_recovery_window(settings)) == {TopUpStatus.SUCCEEDED: 1}
    assert credited(wallet) == provider_charged() == 3_000
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_a_process_killed_after_the_charge_leaves_an_intent_the_resolver_credits(wallet, card, settings):
    SandboxGateway.inject(Fault.KILLED_AFTER)
    with pytest.raises(ProcessKilled):
        services.top_up_create(wallet=wallet, amount=4_000)
    top_up = TopUp.objects.get()
    assert top_up.status == TopUpStatus.PENDING and provider_charged() == 4_000
    assert any("unresolved" in problem for problem in _later_discrepancies(settings))
    services.top_ups_resolve_unresolved(now=after_recovery_window(settings))
    assert credited(wallet) == provider_charged() == 4_000
    assert find_discrepancies() == []


def _later_discrepancies(settings) -> list[str]:
    settings.PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS = 0
    try:
        return find_discrepancies()
    finally:
        settings.PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS = 3600


@pytest.mark.django_db
def test_a_settlement_that_fails_after_the_charge_is_recovered(wallet, card, settings):
    """A commit failure (here: the database connection drops while writing the credit) after the
    provider charged: nothing is credited in that transaction, the resolver credits it later."""

    def drop_on_transfer(execute, sql, params, many, context):
        if "INSERT INTO" in sql and '"ledger_transfer"' in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(drop_on_transfer), pytest.raises(OperationalError):
        services.top_up_create(wallet=wallet, amount=2_500)
    assert TopUp.objects.get().status == TopUpStatus.PENDING
    assert (credited(wallet), provider_charged()) == (0, 2_500)
    services.top_ups_resolve_unresolved(now=after_recovery_window(settings))
    assert credited(wallet) == provider_charged() == 2_500
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_a_charge_of_another_amount_is_held_for_staff_never_credited(wallet, card, settings):
    top_up = services.top_up_begin(wallet=wallet, amount=1_000, payment_method=card)
    STORE.insert(Kind.CHARGE, top_up.provider_key, "tok_visa", 100_000, "USD", "succeeded", "")
    top_up = services.top_up_execute(top_up=top_up)
    assert (top_up.status, top_up.failure_code) == (TopUpStatus.PROCESSING, "amount_mismatch")
    assert credited(wallet) == 0
    assert services.top_ups_resolve_unresolved(now=after_recovery_window(settings)) == {}
    assert any(f"top-up {top_up.id} unresolved" in problem for problem in find_discrepancies())


@pytest.mark.django_db
def test_reconcile_compares_the_provider_record_with_the_ledger(wallet, card):
    services.top_up_create(wallet=wallet, amount=1_000)
    assert find_discrepancies() == []
    STORE.insert(Kind.CHARGE, "top_up_stray", "tok_visa", 700, "USD", "succeeded", "")
    assert any("matches no top-up" in problem for problem in find_discrepancies())
    STORE.reset()
    assert any("the provider has no charge" in problem for problem in find_discrepancies())


@pytest.mark.django_db
def test_a_card_removed_after_the_intent_is_never_charged(wallet, card):
    top_up = services.top_up_begin(wallet=wallet, amount=1_000, payment_method=card)
    services.payment_method_delete(payment_method=card)
    top_up = services.top_up_execute(top_up=TopUp.objects.get(pk=top_up.pk))
    assert (top_up.status, top_up.failure_code) == (TopUpStatus.FAILED, "canceled")
    assert provider_charged() == 0 and credited(wallet) == 0
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_top_ups_are_listed_with_their_outcome_and_someone_elses_is_404(student_client, client_for, wallet, card):
    services.top_up_create(wallet=wallet, amount=1_000)
    PaymentMethodFactory(wallet=wallet, gateway_token="tok_chargeCustomerFail", is_default=False)
    declined = PaymentMethod.objects.get(gateway_token="tok_chargeCustomerFail")
    services.top_up_create(wallet=wallet, amount=2_000, payment_method_id=declined.id)
    body = student_client.get(TOP_UPS).json()
    assert [(row["amount"], row["status"], row["failure_code"]) for row in body["results"]] == [
        ("20.00", "failed", "card_declined"),
        ("10.00", "succeeded", ""),
    ]
    other = wallet_for()
    theirs = services.top_up_create(wallet=other, amount=1_000, payment_method_id=PaymentMethodFactory(wallet=other).id)
    response = student_client.get(f"{TOP_UPS}/{theirs.id}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_gateway_report_prints_the_provider_record_as_json(wallet, card):
    top_up = services.top_up_create(wallet=wallet, amount=1_250)
    out = StringIO()
    call_command("gateway_report", "--json", stdout=out)
    (row,) = json.loads(out.getvalue())
    assert row["kind"] == "charge" and row["key"] == top_up.provider_key
    assert (row["amount"], row["currency"], row["status"]) == ("12.50", "USD", "succeeded")
    assert row["provider_id"] == top_up.provider_reference and row["created_at"].endswith("Z")


@pytest.mark.django_db
def test_a_payout_whose_answer_was_lost_is_paid_once_on_the_next_run(settings):
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    method = earnings.payout_method_add(tutor=tutor, token="btok_timeout")
    withdrawal = earnings.withdrawal_request(tutor=tutor, amount=4_000, payout_method_id=method.pk)
    assert earnings.withdrawal_pay_out(withdrawal_id=withdrawal.pk) == earnings.PayoutOutcome.RETRY
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.PROCESSING
    assert earnings.withdrawal_pay_out(withdrawal_id=withdrawal.pk) == earnings.PayoutOutcome.PAID
    (call,) = get_gateway().records(kind=Kind.PAYOUT)
    assert (call.key, call.amount, call.succeeded) == (withdrawal.provider_key, 4_000, True)
    assert Transfer.objects.filter(kind=TransferKind.PAYOUT).count() == 1
    assert find_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_top_ups_and_card_deletions_never_charge_without_crediting(settings):
    """Scenario 2: 40 top-ups race the deletion of their cards. Whatever each request answers,
    every provider charge ends credited once (after the resolver), and nothing else is credited."""
    wallet = wallet_for()
    cards = [PaymentMethodFactory(wallet=wallet, is_default=index == 0) for index in range(40)]

    def top_up(card):
        try:
            return services.top_up_create(wallet=wallet, amount=1_000, payment_method_id=card.pk).status
        except Exception as exc:  # noqa: BLE001 - each outcome is counted, none may lose money
            return f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    def delete(card):
        try:
            services.payment_method_delete(payment_method=PaymentMethod.objects.get(pk=card.pk))
        except PaymentMethod.DoesNotExist:
            pass
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:  # each card's top-up and deletion race each other
        futures = [(pool.submit(top_up, card), pool.submit(delete, card)) for card in cards]
        outcomes = [charge.result() for charge, _ in futures]
    services.top_ups_resolve_unresolved(now=after_recovery_window(settings))
    assert set(outcomes) <= {TopUpStatus.SUCCEEDED, TopUpStatus.FAILED, "ValidationFailed"}, outcomes
    succeeded = TopUp.objects.filter(status=TopUpStatus.SUCCEEDED).count()
    assert credited(wallet) == provider_charged() == succeeded * 1_000
    assert not TopUp.objects.filter(status__in=(TopUpStatus.PENDING, TopUpStatus.PROCESSING)).exists()
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_staff_ask_the_provider_about_a_stuck_top_up_from_admin(staff_client, wallet, card):
    SandboxGateway.inject(Fault.TIMEOUT_AFTER)
    stuck = services.top_up_create(wallet=wallet, amount=1_500)
    assert stuck.status == TopUpStatus.PROCESSING
    response = staff_client.post(
        "/admin/wallet/topup/", {"action": "ask_the_provider", "_selected_action": [stuck.pk]}, follow=True
    )
    assert response.status_code == 200 and b"Asked the provider: 1 succeeded" in response.content
    stuck.refresh_from_db()
    assert stuck.status == TopUpStatus.SUCCEEDED and credited(wallet) == provider_charged() == 1_500
    assert find_discrepancies() == []

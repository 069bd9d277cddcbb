from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.admin.sites import site
from django.db import connections
from django.test import RequestFactory

from earnings import services
from earnings.models import Withdrawal, WithdrawalStatus
from earnings.tasks import withdrawal_pay_out
from tests.earnings.conftest import balance, fund_available
from tests.lessons.factories import tutor_teaching
from wemaster.ledger.models import AccountKind, Transfer, TransferKind
from wemaster.ledger.reconcile import find_discrepancies

AVAILABLE, CLEARING = AccountKind.TUTOR_AVAILABLE, AccountKind.PAYOUT_CLEARING


def method_for(tutor, token="btok_ok"):
    return services.payout_method_add(tutor=tutor, token=token)


@pytest.mark.django_db
def test_payout_methods_take_sandbox_bank_tokens(client_for):
    client = client_for(tutor_teaching())
    response = client.post("/api/v1/earnings/payout-methods", {"token": "btok_ok"})
    assert response.status_code == 201
    assert (response.json()["last4"], response.json()["is_default"]) == ("6789", True)
    refused = client.post("/api/v1/earnings/payout-methods", {"token": "4111111111111111"})
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_token")
    assert "token" in refused.json()["fields"] and "4111111111111111" not in refused.content.decode()
    assert len(client.get("/api/v1/earnings/payout-methods").json()["results"]) == 1
    assert "token" not in response.json()


@pytest.mark.django_db
def test_withdrawal_rules(client_for, funded_tutor, settings):
    settings.EARNINGS_MIN_PAYOUT_MINOR = 2_000
    client = client_for(funded_tutor)
    method = method_for(funded_tutor)
    for amount in ("19.99", "0", "-1.00"):
        below = client.post("/api/v1/earnings/withdrawals", {"amount": amount, "payout_method": method.pk})
        assert (below.status_code, below.json()["code"]) == (400, "below_minimum_payout")
        assert below.json()["fields"] == {"amount": ["The minimum payout is 20.00 USD."]}
    too_much = client.post("/api/v1/earnings/withdrawals", {"amount": "100.01", "payout_method": method.pk})
    assert (too_much.status_code, too_much.json()["code"]) == (400, "insufficient_available_balance")
    assert (
        client.post("/api/v1/earnings/withdrawals", {"amount": "1.234", "payout_method": method.pk}).status_code == 400
    )
    first = client.post("/api/v1/earnings/withdrawals", {"amount": "30.00", "payout_method": method.pk})
    assert (first.status_code, first.json()["status"], first.json()["amount"]) == (201, "requested", "30.00")
    assert (balance(funded_tutor, AVAILABLE), balance(funded_tutor, CLEARING)) == (7_000, 3_000)
    second = client.post("/api/v1/earnings/withdrawals", {"amount": "30.00", "payout_method": method.pk})
    assert (second.status_code, second.json()["code"]) == (409, "withdrawal_in_progress")
    assert balance(funded_tutor, AVAILABLE) == 7_000


@pytest.mark.django_db
def test_withdrawal_is_idempotent(client_for, funded_tutor):
    client = client_for(funded_tutor)
    body = {"amount": "25.00", "payout_method": method_for(funded_tutor).pk}
    first = client.post("/api/v1/earnings/withdrawals", body, HTTP_IDEMPOTENCY_KEY="w-1")
    again = client.post("/api/v1/earnings/withdrawals", body, HTTP_IDEMPOTENCY_KEY="w-1")
    assert (first.status_code, again.status_code, again["Idempotent-Replayed"]) == (201, 201, "true")
    assert again.json() == first.json()
    other = client.post("/api/v1/earnings/withdrawals", {**body, "amount": "26.00"}, HTTP_IDEMPOTENCY_KEY="w-1")
    assert other.status_code == 422
    assert Withdrawal.objects.count() == 1 and balance(funded_tutor, AVAILABLE) == 7_500


@pytest.mark.django_db
def test_withdrawals_are_throttled_by_their_scope(client_for, funded_tutor, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "withdrawal": "2/min"},
    }
    client = client_for(funded_tutor)
    body = {"amount": "1.00", "payout_method": method_for(funded_tutor).pk}
    codes = [client.post("/api/v1/earnings/withdrawals", body).status_code for _ in range(3)]
    assert codes == [400, 400, 429]


@pytest.mark.django_db
def test_payout_success_moves_clearing_to_the_outside_once(funded_tutor, django_capture_on_commit_callbacks, provider):
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = services.withdrawal_request(
            tutor=funded_tutor, amount=4_000, payout_method_id=method_for(funded_tutor).pk
        )
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.attempts) == (WithdrawalStatus.PAID, 1)
    assert (balance(funded_tutor, AVAILABLE), balance(funded_tutor, CLEARING)) == (6_000, 0)
    assert services.withdrawal_pay_out(withdrawal_id=withdrawal.pk) == services.PayoutOutcome.ALREADY_DONE
    (call,) = provider.records()
    assert (call.key, call.amount, call.succeeded) == (withdrawal.provider_key, 4_000, True)
    assert withdrawal.provider_reference == call.provider_id
    assert Transfer.objects.filter(kind=TransferKind.PAYOUT).count() == 1
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_transient_failures_are_retried_until_paid(
    funded_tutor, django_capture_on_commit_callbacks, settings, provider
):
    settings.EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = services.withdrawal_request(
            tutor=funded_tutor, amount=4_000, payout_method_id=method_for(funded_tutor, "btok_flaky").pk
        )
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.attempts) == (WithdrawalStatus.PAID, 3)
    (call,) = provider.records()
    assert (call.attempts, call.succeeded) == (3, True)
    assert (balance(funded_tutor, AVAILABLE), balance(funded_tutor, CLEARING)) == (6_000, 0)
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_transient_failures_beyond_the_retries_leave_it_processing_for_staff(funded_tutor, settings):
    settings.EARNINGS_PAYOUT_MAX_RETRIES = 1
    settings.EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS = 0
    withdrawal = services.withdrawal_request(
        tutor=funded_tutor, amount=4_000, payout_method_id=method_for(funded_tutor, "btok_flaky").pk
    )
    withdrawal_pay_out.apply(args=[withdrawal.pk])
    withdrawal.refresh_from_db()
    assert (withdrawal.status, withdrawal.attempts) == (WithdrawalStatus.PROCESSING, 2)
    assert withdrawal.failure_reason
    assert balance(funded_tutor, CLEARING) == 4_000
    services.withdrawal_retry(withdrawal_id=withdrawal.pk)  # staff: the third attempt succeeds
    assert services.withdrawal_pay_out(withdrawal_id=withdrawal.pk) == services.PayoutOutcome.PAID


@pytest.mark.django_db
def test_final_failure_returns_the_money_and_staff_can_retry(
    funded_tutor, django_capture_on_commit_callbacks, provider
):
    with django_capture_on_commit_callbacks(execute=True):
        withdrawal = services.withdrawal_request(
            tutor=funded_tutor, amount=4_000, payout_method_id=method_for(funded_tutor, "btok_fail").pk
        )
    withdrawal.refresh_from_db()
    assert withdrawal.status == WithdrawalStatus.FAILED and withdrawal.failure_reason
    assert (balance(funded_tutor, AVAILABLE), balance(funded_tutor, CLEARING)) == (10_000, 0)
    assert Transfer.objects.filter(kind=TransferKind.PAYOUT_REVERSAL).count() == 1

    model_admin = site._registry[Withdrawal]
    request = RequestFactory().post("/admin/")
    request.user = funded_tutor
    request._messages = type("Messages", (), {"add": lambda *args, **kwargs: None})()
    with django_capture_on_commit_callbacks(execute=True):
        model_admin.retry_payouts(request, Withdrawal.objects.filter(pk=withdrawal.pk))
    withdrawal.refresh_from_db()
    assert (withdrawal.round, withdrawal.status) == (1, WithdrawalStatus.FAILED)  # a new round, refused again
    assert [call.status for call in provider.records()] == ["failed", "failed"]  # one key per round
    assert (balance(funded_tutor, AVAILABLE), balance(funded_tutor, CLEARING)) == (10_000, 0)
    assert find_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_payout_task_run_concurrently_pays_once(monkeypatch, provider):
    monkeypatch.setattr(services, "_enqueue_payout", lambda withdrawal_id: None)  # the threads below run it
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    withdrawal = services.withdrawal_request(tutor=tutor, amount=5_000, payout_method_id=method_for(tutor).pk)

    def run(_):
        try:
            return withdrawal_pay_out.apply(args=[withdrawal.pk]).get()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(6) as pool:
        outcomes = sorted(pool.map(run, range(6)))
    assert outcomes.count(services.PayoutOutcome.PAID) == 1
    (call,) = provider.records()  # every concurrent run asked with the round's key: one payout
    assert (call.key, call.succeeded) == (withdrawal.provider_key, True)
    assert Transfer.objects.filter(kind=TransferKind.PAYOUT).count() == 1
    assert (balance(tutor, AVAILABLE), balance(tutor, CLEARING)) == (5_000, 0)
    assert find_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_withdrawal_requests_admit_one(monkeypatch):
    monkeypatch.setattr(services, "_enqueue_payout", lambda withdrawal_id: None)  # keep the first in flight
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    method = method_for(tutor)

    def request(_):
        try:
            services.withdrawal_request(tutor=tutor, amount=3_000, payout_method_id=method.pk)
            return "created"
        except services.WithdrawalInProgress:
            return "in_progress"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(request, range(8)))
    assert outcomes == ["created"] + ["in_progress"] * 7
    assert (balance(tutor, AVAILABLE), balance(tutor, CLEARING)) == (7_000, 3_000)
    assert find_discrepancies() == []

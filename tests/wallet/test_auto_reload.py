import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.wallet.factories import PaymentMethodFactory, funded
from wallet import services
from wallet.models import TopUp, TopUpOrigin, TopUpStatus, Wallet
from wemaster.celery import app as celery_app
from wemaster.core.payments import get_gateway
from wemaster.ledger import services as ledger
from wemaster.ledger.reconcile import find_discrepancies


def enable_auto_reload(wallet, *, threshold=2_000, amount=3_000, monthly_cap=100_000, token="tok_visa"):
    PaymentMethodFactory(wallet=wallet, gateway_token=token)
    return services.auto_reload_configure(
        wallet=wallet, enabled=True, threshold=threshold, amount=amount, monthly_cap=monthly_cap
    )


def debit(wallet, amount, reference):
    return ledger.hold_create(account=wallet.account, amount=amount, reference=reference)


def reloads(wallet):
    return TopUp.objects.filter(wallet=wallet, origin=TopUpOrigin.AUTO_RELOAD)


@pytest.fixture
def reloading_wallet(wallet):
    funded(wallet, 5_000)
    return enable_auto_reload(wallet)


@pytest.mark.django_db
def test_a_debit_below_the_threshold_reloads_once_from_the_default_card(
    reloading_wallet, django_capture_on_commit_callbacks
):
    wallet = reloading_wallet
    with django_capture_on_commit_callbacks(execute=True):
        debit(wallet, 2_000, "above")  # available 30.00: not below 20.00
    assert not reloads(wallet).exists()
    with django_capture_on_commit_callbacks(execute=True):
        hold = debit(wallet, 1_500, "below")  # available 15.00
    top_up = reloads(wallet).get()
    assert (top_up.status, top_up.amount, top_up.trigger) == (TopUpStatus.SUCCEEDED, 3_000, f"hold:{hold.id}")
    call = get_gateway().retrieve(kind="charge", idempotency_key=top_up.provider_key)
    assert (call.source, call.amount, call.succeeded) == ("tok_visa", 3_000, True)
    wallet.account.refresh_from_db()
    assert (wallet.account.balance, wallet.account.available) == (8_000, 4_500)
    assert Wallet.objects.get(pk=wallet.pk).auto_reload_in_flight_since is None
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_the_same_trigger_never_reloads_twice(reloading_wallet):
    wallet = reloading_wallet
    ledger.hold_create(account=wallet.account, amount=4_500, reference="big")  # no on-commit in this test
    from wallet.tasks import auto_reload_run

    first = auto_reload_run.delay(wallet.id, "hold:42").get()
    debit(wallet, 3_000, "again")  # below the threshold again
    assert auto_reload_run.delay(wallet.id, "hold:42").get() is None
    assert reloads(wallet).count() == 1 and reloads(wallet).get().id == first
    reload_keys = set(reloads(wallet).values_list("provider_key", flat=True))
    assert len([call for call in get_gateway().records() if call.key in reload_keys]) == 1


@pytest.mark.django_db
def test_monthly_cap_is_never_exceeded(wallet, django_capture_on_commit_callbacks):
    funded(wallet, 5_000)
    enable_auto_reload(wallet, threshold=2_000, amount=3_000, monthly_cap=6_000)
    for index in range(4):
        wallet.account.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            debit(wallet, max(wallet.account.available - 1_000, 500), f"spend:{index}")
    assert reloads(wallet).count() == 2
    assert services.auto_reload_month_total(wallet=wallet) == 6_000
    next_month = timezone.now().replace(day=28) + timedelta(days=7)
    assert services.auto_reload_month_total(wallet=wallet, now=next_month) == 0


@pytest.mark.django_db
def test_auto_reload_turns_itself_off_after_three_declines(wallet, student_client, django_capture_on_commit_callbacks):
    funded(wallet, 10_000)
    enable_auto_reload(wallet, token="tok_chargeCustomerFail")
    for index in range(4):
        with django_capture_on_commit_callbacks(execute=True):
            debit(wallet, 500 if index else 8_500, f"spend:{index}")
    failed = reloads(wallet)
    assert failed.count() == 3 and {t.status for t in failed} == {TopUpStatus.FAILED}
    wallet.account.refresh_from_db()
    assert wallet.account.balance == 10_000  # declines moved nothing
    auto_reload = student_client.get("/api/v1/wallet").json()["auto_reload"]
    assert auto_reload["enabled"] is False and auto_reload["consecutive_failures"] == 3
    assert "3 failed charges" in auto_reload["disabled_reason"]
    body = {"enabled": True, "threshold": "20.00", "amount": "30.00", "monthly_cap": "100.00"}
    auto_reload = student_client.put("/api/v1/wallet/auto-reload", body).json()
    assert (auto_reload["enabled"], auto_reload["consecutive_failures"], auto_reload["disabled_reason"]) == (
        True,
        0,
        "",
    )


@pytest.mark.django_db
def test_a_success_resets_the_failure_count(reloading_wallet):
    wallet = reloading_wallet
    services.auto_reload_record_failure(wallet=wallet, failure_code="card_declined")
    debit(wallet, 4_000, "spend")
    services.auto_reload_run(wallet_id=wallet.id, trigger="hold:1")
    assert Wallet.objects.get(pk=wallet.pk).auto_reload_consecutive_failures == 0


@pytest.mark.django_db
def test_a_transient_failure_counts_once_and_the_resolver_fails_the_uncharged_intent(
    wallet, django_capture_on_commit_callbacks, settings
):
    funded(wallet, 5_000)
    enable_auto_reload(wallet, token="tok_processingError")
    with django_capture_on_commit_callbacks(execute=True):
        debit(wallet, 4_000, "spend")
    intent = reloads(wallet).get()
    assert intent.status == TopUpStatus.PENDING  # the provider never answered with a charge
    refreshed = Wallet.objects.get(pk=wallet.pk)
    assert refreshed.auto_reload_consecutive_failures == 1 and refreshed.auto_reload_in_flight_since is None
    later = timezone.now() + timedelta(seconds=settings.PAYMENTS_RECOVERY_AFTER_SECONDS + 1)
    assert services.top_ups_resolve_unresolved(now=later) == {TopUpStatus.FAILED: 1}
    intent.refresh_from_db()
    assert (intent.status, intent.failure_code, intent.transfer_id) == (TopUpStatus.FAILED, "canceled", None)
    wallet.account.refresh_from_db()
    assert (wallet.account.balance, wallet.account.available) == (5_000, 1_000)  # nothing credited
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_a_reload_in_flight_blocks_another_until_it_is_stale(reloading_wallet, settings):
    wallet = reloading_wallet
    debit(wallet, 4_000, "spend")
    Wallet.objects.filter(pk=wallet.pk).update(auto_reload_in_flight_since=timezone.now())
    assert services.auto_reload_run(wallet_id=wallet.id, trigger="t1") is None
    stale = timezone.now() - timedelta(seconds=settings.WALLET_AUTO_RELOAD_IN_FLIGHT_TIMEOUT_SECONDS + 1)
    Wallet.objects.filter(pk=wallet.pk).update(auto_reload_in_flight_since=stale)
    assert services.auto_reload_run(wallet_id=wallet.id, trigger="t1").status == TopUpStatus.SUCCEEDED
    assert Wallet.objects.get(pk=wallet.pk).auto_reload_in_flight_since is None


@pytest.mark.django_db
def test_disabled_or_cardless_wallets_do_not_reload(reloading_wallet):
    wallet = reloading_wallet
    debit(wallet, 4_000, "spend")
    wallet.payment_methods.all().delete()
    assert services.auto_reload_run(wallet_id=wallet.id, trigger="t1") is None
    refreshed = Wallet.objects.get(pk=wallet.pk)
    assert refreshed.auto_reload_enabled is False and "no payment method" in refreshed.auto_reload_disabled_reason
    assert services.auto_reload_run(wallet_id=wallet.id, trigger="t2") is None
    assert not reloads(wallet).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_crossing_the_threshold_trigger_one_reload(wallet):
    funded(wallet, 10_000)
    enable_auto_reload(wallet, threshold=5_000, amount=10_000)
    barrier = threading.Barrier(8, timeout=30)

    def spend(index):
        barrier.wait()
        try:
            debit(wallet, 1_000, f"lesson:{index}")  # the reload runs inline (eager) after commit
        finally:
            connection.close()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(spend, range(8)))
    assert reloads(wallet).count() == 1 and reloads(wallet).get().status == TopUpStatus.SUCCEEDED
    wallet.account.refresh_from_db()
    assert (wallet.account.balance, wallet.account.held) == (20_000, 8_000)
    assert Wallet.objects.get(pk=wallet.pk).auto_reload_in_flight_since is None
    assert find_discrepancies() == []


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_celery_worker_on_redis_runs_the_reload(wallet):
    from celery.contrib.testing.worker import start_worker

    funded(wallet, 5_000)
    enable_auto_reload(wallet)
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10):
        hold = debit(wallet, 4_000, "lesson:1")  # commits; the receiver queues the task on Redis
        deadline = time.monotonic() + 15
        while not reloads(wallet).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    top_up = reloads(wallet).get()
    assert (top_up.status, top_up.trigger) == (TopUpStatus.SUCCEEDED, f"hold:{hold.id}")
    wallet.account.refresh_from_db()
    assert wallet.account.balance == 8_000
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_reconcile_checks_top_ups_against_the_ledger(wallet):
    top_up = funded(wallet, 2_500)
    assert find_discrepancies() == []
    TopUp.objects.filter(pk=top_up.pk).update(amount=2_600)
    assert any(f"top-up {top_up.id} credited 2500, not 2600" in problem for problem in find_discrepancies())


@pytest.mark.django_db
def test_a_reload_card_removed_later_falls_back_to_the_default_card(wallet, student_client):
    """Card removal (DELETE /wallet/payment-methods/{id}) and auto-reload: the reload's own card is
    forgotten with it, and the next reload charges the default card."""
    funded(wallet, 5_000)
    default = PaymentMethodFactory(wallet=wallet, gateway_token="tok_visa", is_default=True)
    chosen = PaymentMethodFactory(wallet=wallet, gateway_token="tok_mastercard", is_default=False)
    services.auto_reload_configure(
        wallet=wallet, enabled=True, threshold=2_000, amount=3_000, monthly_cap=100_000, payment_method_id=chosen.pk
    )
    assert student_client.delete(f"/api/v1/wallet/payment-methods/{chosen.pk}").status_code == 204
    debit(wallet, 4_000, "spend")
    top_up = services.auto_reload_run(wallet_id=wallet.id, trigger="after-removal")
    assert (top_up.status, top_up.payment_method_id) == (TopUpStatus.SUCCEEDED, default.pk)
    assert get_gateway().retrieve(kind="charge", idempotency_key=top_up.provider_key).source == "tok_visa"

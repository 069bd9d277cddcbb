"""`Idempotency-Key` semantics (docs/API.md, Conventions: Idempotency-Key) exercised through POST /wallet/top-ups."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from tests.accounts.factories import StudentFactory
from tests.wallet.factories import PaymentMethodFactory, wallet_for
from wallet.models import TopUp, TopUpStatus
from wemaster.core.models import IdempotencyKey
from wemaster.core.payments import get_gateway
from wemaster.core.tasks import idempotency_keys_prune
from wemaster.ledger.reconcile import find_discrepancies

TOP_UPS = "/api/v1/wallet/top-ups"


@pytest.fixture
def card(wallet):
    return PaymentMethodFactory(wallet=wallet)


@pytest.mark.django_db
def test_same_key_and_body_fifty_times_is_one_effect_and_one_response(student_client, wallet, card):
    responses = [student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="key-1") for _ in range(50)]
    first = responses[0]
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    for replay in responses[1:]:
        assert replay.status_code == 201
        assert replay.json() == first.json()
        assert replay.headers["Idempotent-Replayed"] == "true"
    assert TopUp.objects.count() == 1 and len(get_gateway().records()) == 1
    wallet.account.refresh_from_db()
    assert wallet.account.balance == 2_000
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_same_key_with_another_body_or_endpoint_is_422(student_client, wallet, card):
    assert student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="key-2").status_code == 201
    response = student_client.post(TOP_UPS, {"amount": "21.00"}, HTTP_IDEMPOTENCY_KEY="key-2")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    response = student_client.post(
        "/api/v1/wallet/payment-methods", {"token": "tok_visa"}, HTTP_IDEMPOTENCY_KEY="key-2"
    )
    assert response.status_code == 422
    assert TopUp.objects.count() == 1 and wallet.payment_methods.count() == 1


@pytest.mark.django_db
def test_a_request_that_failed_validation_stores_nothing(student_client, wallet, card):
    response = student_client.post(TOP_UPS, {"amount": "1.00"}, HTTP_IDEMPOTENCY_KEY="key-3")
    assert response.status_code == 400
    response = student_client.post(TOP_UPS, {"amount": "nope"}, HTTP_IDEMPOTENCY_KEY="key-3")
    assert response.status_code == 400
    assert not IdempotencyKey.objects.exists()
    response = student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="key-3")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers


@pytest.mark.django_db
def test_a_declined_top_up_is_replayed_not_retried(student_client, wallet):
    PaymentMethodFactory(wallet=wallet, gateway_token="tok_chargeCustomerFail")
    first = student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="key-4")
    again = student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="key-4")
    assert first.status_code == again.status_code == 402
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert TopUp.objects.get().status == TopUpStatus.FAILED
    assert [call.attempts for call in get_gateway().records()] == [1]


@pytest.mark.django_db
def test_another_user_with_the_same_key_gets_their_own_effect(client_for, student_client, wallet, card):
    other = StudentFactory()
    other_wallet = wallet_for(other)
    PaymentMethodFactory(wallet=other_wallet)
    mine = student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="shared")
    theirs = client_for(other).post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="shared")
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers and theirs.json()["id"] != mine.json()["id"]
    wallet.account.refresh_from_db()
    other_wallet.account.refresh_from_db()
    assert wallet.account.balance == other_wallet.account.balance == 2_000


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "k" * 256])
def test_key_length_is_checked(student_client, wallet, card, key):
    response = student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert not TopUp.objects.exists()


@pytest.mark.django_db
def test_prune_task_deletes_keys_older_than_the_ttl_only(student_client, wallet, card, settings):
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 48
    student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="old")
    student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="recent")
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - timedelta(hours=49))
    IdempotencyKey.objects.filter(key="recent").update(created_at=timezone.now() - timedelta(hours=23))
    assert idempotency_keys_prune.delay().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]
    settings.IDEMPOTENCY_KEY_TTL_HOURS = 1  # never below 24 h, whatever the setting says
    assert idempotency_keys_prune.delay().get() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_32_threads_with_one_key_make_one_effect(client_for, student, wallet, card):
    barrier = threading.Barrier(32, timeout=30)
    lock = threading.Lock()
    outcomes = []
    clients = [client_for(student) for _ in range(32)]  # before the threads: they hold no connection early

    def post(index):
        client = clients[index]
        barrier.wait()
        try:
            response = client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="burst")
            with lock:
                outcomes.append((response.status_code, response.headers.get("Idempotent-Replayed"), response.json()))
        finally:
            connection.close()

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(post, range(32)))
    statuses = [status for status, _, _ in outcomes]
    assert len(outcomes) == 32 and all(status in (201, 409) for status in statuses), statuses
    originals = [body for status, replayed, body in outcomes if status == 201 and replayed is None]
    replays = [body for status, replayed, body in outcomes if status == 201 and replayed == "true"]
    assert len(originals) == 1
    assert all(body == originals[0] for body in replays)
    assert all(body["code"] == "idempotency_key_in_use" for status, _, body in outcomes if status == 409)
    assert TopUp.objects.count() == 1 and len(get_gateway().records()) == 1
    wallet.account.refresh_from_db()
    assert wallet.account.balance == 2_000
    assert find_discrepancies() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_key_still_running_elsewhere_is_409(student_client, student, wallet, card):
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [student.id, "running"])
            response = student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="running")
            cursor.execute("ROLLBACK")
    finally:
        holder.close()
    assert response.status_code == 409 and response.json()["code"] == "idempotency_key_in_use"
    assert not TopUp.objects.exists()
    assert student_client.post(TOP_UPS, {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="running").status_code == 201

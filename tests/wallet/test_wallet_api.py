import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.accounts.factories import StudentFactory
from tests.wallet.factories import PaymentMethodFactory, funded, wallet_for
from wallet import services
from wallet.models import PaymentMethod, TopUp, TopUpStatus
from wemaster.core.models import IdempotencyKey
from wemaster.core.payments import get_gateway
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, Transfer, TransferKind
from wemaster.ledger.reconcile import find_discrepancies

pytestmark = pytest.mark.django_db


def test_wallet_is_created_lazily_with_auto_reload_defaults(student_client, settings):
    response = student_client.get("/api/v1/wallet")
    assert response.status_code == 200
    assert response.json() == {
        "balance": "0.00",
        "held": "0.00",
        "available": "0.00",
        "currency": settings.CURRENCY,
        "auto_reload": {
            "enabled": False,
            "threshold": "10.00",
            "amount": "25.00",
            "payment_method": None,
            "monthly_cap": "200.00",
            "consecutive_failures": 0,
            "disabled_reason": "",
        },
    }


def test_wallet_is_for_students_only(client_for, tutor, api_client):
    response = client_for(tutor).get("/api/v1/wallet")
    assert response.status_code == 403
    assert response.json()["code"] == "not_a_student"
    assert client_for(tutor).post("/api/v1/wallet/top-ups", {"amount": "10.00"}).json()["code"] == "not_a_student"
    assert api_client.get("/api/v1/wallet").status_code == 401


def test_summary_reads_the_ledger_row_every_time(student_client, wallet, django_assert_num_queries):
    funded(wallet, 10_000)
    ledger.hold_create(account=wallet.account, amount=2_550, reference="lesson:1:hold")
    student_client.get("/api/v1/wallet")  # token lookup warmed
    with django_assert_num_queries(1, exact=False) as captured:
        body = student_client.get("/api/v1/wallet").json()
    assert (body["balance"], body["held"], body["available"]) == ("100.00", "25.50", "74.50")
    wallet_queries = [q["sql"] for q in captured.captured_queries if "wallet_wallet" in q["sql"]]
    assert len(wallet_queries) == 1 and "ledger_account" in wallet_queries[0]
    assert len(captured.captured_queries) <= 3
    ledger.hold_create(account=wallet.account, amount=1_000, reference="lesson:2:hold")
    assert student_client.get("/api/v1/wallet").json()["available"] == "64.50"


def test_payment_methods_attach_default_and_delete(student_client, wallet):
    visa = student_client.post("/api/v1/wallet/payment-methods", {"token": "tok_visa"})
    assert visa.status_code == 201
    assert visa.json() | {"id": 0, "created_at": ""} == {
        "id": 0,
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2030,
        "is_default": True,
        "created_at": "",
    }
    master = student_client.post("/api/v1/wallet/payment-methods", {"token": "tok_mastercard"}).json()
    assert master["is_default"] is False
    third = student_client.post("/api/v1/wallet/payment-methods", {"token": "tok_visa", "make_default": True}).json()
    listed = student_client.get("/api/v1/wallet/payment-methods").json()
    assert listed["next"] is None and listed["previous"] is None
    assert [(m["id"], m["is_default"]) for m in listed["results"]] == [
        (third["id"], True),
        (master["id"], False),
        (visa.json()["id"], False),
    ]

    response = student_client.patch(f"/api/v1/wallet/payment-methods/{master['id']}", {"is_default": True})
    assert response.status_code == 200 and response.json()["is_default"] is True
    assert PaymentMethod.objects.get(is_default=True).id == master["id"]

    assert student_client.delete(f"/api/v1/wallet/payment-methods/{master['id']}").status_code == 204
    assert PaymentMethod.objects.get(is_default=True).id == third["id"]  # the newest remaining card
    student_client.delete(f"/api/v1/wallet/payment-methods/{third['id']}")
    student_client.delete(f"/api/v1/wallet/payment-methods/{visa.json()['id']}")
    assert not PaymentMethod.objects.exists()


def test_a_declined_card_is_not_attached(student_client, wallet):
    response = student_client.post("/api/v1/wallet/payment-methods", {"token": "tok_chargeDeclined"})
    assert response.status_code == 400
    assert response.json()["code"] == "card_declined"
    assert not PaymentMethod.objects.exists()


def test_an_unknown_card_token_is_invalid_token_not_declined(student_client, wallet):
    response = student_client.post("/api/v1/wallet/payment-methods", {"token": "tok_nonsense"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_token" and "token" in response.json()["fields"]
    assert not PaymentMethod.objects.exists()


def test_payment_method_count_is_bounded(student_client, wallet, settings):
    settings.WALLET_MAX_PAYMENT_METHODS = 2
    for _ in range(2):
        assert student_client.post("/api/v1/wallet/payment-methods", {"token": "tok_visa"}).status_code == 201
    response = student_client.post("/api/v1/wallet/payment-methods", {"token": "tok_visa"})
    assert response.status_code == 400 and "token" in response.json()["fields"]


def test_top_up_charges_once_and_credits_the_wallet(student_client, wallet):
    card = PaymentMethodFactory(wallet=wallet)
    response = student_client.post("/api/v1/wallet/top-ups", {"amount": "25.00"})
    assert response.status_code == 201
    body = response.json()
    top_up = TopUp.objects.get()
    assert body["id"] == top_up.id and body["status"] == "succeeded" and body["payment_method"] == card.id
    assert body["transaction"]["type"] == "top_up"
    assert (body["transaction"]["amount"], body["transaction"]["balance_after"]) == ("25.00", "25.00")
    assert body["transaction"]["reference"] == f"top_up:{top_up.id}"
    (call,) = get_gateway().records()
    assert (call.key, call.amount, call.source) == (top_up.provider_key, 2_500, "tok_visa")
    assert top_up.provider_reference == call.provider_id
    assert student_client.get("/api/v1/wallet").json()["balance"] == "25.00"
    assert find_discrepancies() == []


@pytest.mark.parametrize("amount", ["4.99", "1000.01", "0", "-5.00", "1.005", "abc", 12.5])
def test_top_up_outside_limits_or_malformed_is_400_and_stores_nothing(student_client, wallet, amount):
    PaymentMethodFactory(wallet=wallet)
    response = student_client.post(
        "/api/v1/wallet/top-ups", {"amount": amount}, format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error" and "amount" in response.json()["fields"]
    assert not TopUp.objects.exists() and not get_gateway().records() and not IdempotencyKey.objects.exists()


@pytest.mark.parametrize(
    "amount,message",
    [
        ("0", "Must be at least 5.00 USD."),
        ("-5.00", "Must be at least 5.00 USD."),
        ("1000.01", "Must be at most 1000.00 USD."),
    ],
)
def test_top_up_limits_are_named_in_api_units(student_client, wallet, amount, message):
    PaymentMethodFactory(wallet=wallet)
    response = student_client.post("/api/v1/wallet/top-ups", {"amount": amount}, format="json")
    assert response.json()["fields"] == {"amount": [message]}
    settings_body = {"enabled": False, "threshold": "1.00", "amount": amount, "monthly_cap": "2000.00"}
    assert student_client.put("/api/v1/wallet/auto-reload", settings_body).json()["fields"] == {"amount": [message]}


def test_top_up_limits_come_from_settings(student_client, wallet, settings):
    PaymentMethodFactory(wallet=wallet)
    settings.WALLET_TOP_UP_MIN_MINOR = 100
    assert student_client.post("/api/v1/wallet/top-ups", {"amount": "1.00"}).status_code == 201


def test_declined_top_up_records_a_failed_attempt_and_moves_no_money(student_client, wallet):
    PaymentMethodFactory(wallet=wallet, gateway_token="tok_chargeCustomerFail")
    response = student_client.post("/api/v1/wallet/top-ups", {"amount": "20.00"})
    assert response.status_code == 402
    assert response.json()["code"] == "card_declined"
    top_up = TopUp.objects.get()
    assert (top_up.status, top_up.failure_code, top_up.transfer) == (TopUpStatus.FAILED, "card_declined", None)
    assert not Transfer.objects.exists()
    wallet.account.refresh_from_db()
    assert wallet.account.balance == 0


def test_transient_gateway_failure_is_503_and_a_retry_continues_the_same_intent(student_client, wallet):
    PaymentMethodFactory(wallet=wallet, gateway_token="tok_processingError")
    for _ in range(2):
        response = student_client.post("/api/v1/wallet/top-ups", {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="t1")
        assert response.status_code == 503
        assert response.json()["code"] == "payment_processing_error"
    top_up = TopUp.objects.get()  # one intent for the key, still waiting for an answer
    assert top_up.status == TopUpStatus.PENDING
    assert not IdempotencyKey.objects.exists() and not Transfer.objects.exists() and not get_gateway().records()


def test_top_up_without_a_card_or_with_an_unknown_one_is_400(student_client, wallet):
    response = student_client.post("/api/v1/wallet/top-ups", {"amount": "20.00"})
    assert response.status_code == 400 and "payment_method" in response.json()["fields"]
    response = student_client.post("/api/v1/wallet/top-ups", {"amount": "20.00", "payment_method": 999_999})
    assert response.status_code == 400 and "payment_method" in response.json()["fields"]


def test_top_up_names_a_non_default_card(student_client, wallet):
    PaymentMethodFactory(wallet=wallet)
    other = PaymentMethodFactory(wallet=wallet, gateway_token="tok_mastercard", is_default=False)
    response = student_client.post("/api/v1/wallet/top-ups", {"amount": "20.00", "payment_method": other.id})
    assert response.status_code == 201
    assert [call.source for call in get_gateway().records()] == ["tok_mastercard"]


def test_top_ups_are_throttled(student_client, wallet, settings):
    PaymentMethodFactory(wallet=wallet)
    settings.RATE_LIMITS_ENABLED = True
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "top_up": "2/min"},
    }
    statuses = [student_client.post("/api/v1/wallet/top-ups", {"amount": "10.00"}).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert TopUp.objects.count() == 2


def _spend(wallet, amount, reference):
    hold = ledger.hold_create(account=wallet.account, amount=amount, reference=f"{reference}:hold")
    revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=wallet.account.currency)
    ledger.hold_capture(
        hold=hold, kind=TransferKind.LESSON_CHARGE, reference=reference, credits=[ledger.Leg(revenue.id, amount)]
    )


def test_transactions_list_the_wallet_entries_newest_first_with_filters(student_client, wallet):
    first = funded(wallet, 5_000)
    _spend(wallet, 1_200, "lesson:7")
    response = student_client.get("/api/v1/wallet/transactions")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["type"], r["amount"], r["balance_after"], r["reference"]) for r in results] == [
        ("lesson_charge", "-12.00", "38.00", "lesson:7"),
        ("top_up", "50.00", "50.00", f"top_up:{first.id}"),
    ]
    assert set(results[0]) == {"id", "type", "amount", "balance_after", "created_at", "reference"}
    only_top_ups = student_client.get("/api/v1/wallet/transactions?type=top_up").json()["results"]
    assert [r["type"] for r in only_top_ups] == ["top_up"]
    created = results[0]["created_at"]
    before = student_client.get("/api/v1/wallet/transactions", {"created_before": created}).json()["results"]
    assert [r["type"] for r in before] == ["top_up"]
    after = student_client.get("/api/v1/wallet/transactions", {"created_after": created}).json()["results"]
    assert [r["type"] for r in after] == ["lesson_charge"]


@pytest.mark.parametrize(
    "query", ["type=teleport", "created_after=yesterday", "created_before=2026-13-01", "cursor=garbage", "page_size=0"]
)
def test_transactions_bad_filters_are_400(student_client, wallet, query):
    response = student_client.get(f"/api/v1/wallet/transactions?{query}")
    assert response.status_code == 400
    assert response.json()["code"] in ("validation_error", "invalid_cursor")


def test_transactions_and_top_ups_paginate_by_cursor_with_a_constant_query_count(student_client, wallet):
    card = PaymentMethodFactory(wallet=wallet)
    for _ in range(100):
        services.top_up_create(wallet=wallet, amount=500, payment_method_id=card.id)
    for path in ("/api/v1/wallet/transactions", "/api/v1/wallet/top-ups"):
        student_client.get(f"{path}?page_size=1")
        counts = {}
        for size in (10, 100):
            with CaptureQueriesContext(connection) as captured:
                body = student_client.get(f"{path}?page_size={size}").json()
            assert len(body["results"]) == size
            counts[size] = len(captured.captured_queries)
        assert counts[10] == counts[100] <= 3, (path, counts)
    page = student_client.get("/api/v1/wallet/transactions?page_size=60").json()
    second = student_client.get(page["next"]).json()
    ids = [r["id"] for r in page["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 100 and ids == sorted(ids, reverse=True)
    assert second["next"] is None


def test_auto_reload_settings_validate_and_save(student_client, wallet):
    body = {"enabled": True, "threshold": "15.00", "amount": "30.00", "monthly_cap": "90.00"}
    response = student_client.put("/api/v1/wallet/auto-reload", body)
    assert response.status_code == 400 and "payment_method" in response.json()["fields"]
    card = PaymentMethodFactory(wallet=wallet)
    response = student_client.put("/api/v1/wallet/auto-reload", body)
    assert response.status_code == 200
    assert response.json() | {"payment_method": card.id} == {
        **body,
        "payment_method": card.id,
        "consecutive_failures": 0,
        "disabled_reason": "",
    }
    assert response.json()["payment_method"] is None  # the default card, whichever it is then
    assert student_client.get("/api/v1/wallet").json()["auto_reload"]["threshold"] == "15.00"
    response = student_client.put("/api/v1/wallet/auto-reload", {**body, "payment_method": card.id})
    assert response.json()["payment_method"] == card.id
    for bad in ({"amount": "2000.00"}, {"monthly_cap": "10.00"}, {"threshold": "-1.00"}, {"enabled": None}):
        response = student_client.put("/api/v1/wallet/auto-reload", {**body, **bad})
        assert response.status_code == 400, bad
    someone_elses = PaymentMethodFactory(wallet=wallet_for(StudentFactory()))
    response = student_client.put("/api/v1/wallet/auto-reload", {**body, "payment_method": someone_elses.id})
    assert response.status_code == 400 and "payment_method" in response.json()["fields"]


def test_a_client_key_names_one_intent_with_a_provider_key_of_its_own(wallet, provider):
    """A retry with the request's Idempotency-Key continues the same intent (same provider key:
    one charge); each intent's provider key is its own, never derived from the client's key."""
    card = PaymentMethodFactory(wallet=wallet, gateway_token="tok_visa")
    first = services.top_up_create(wallet=wallet, amount=1_000, payment_method_id=card.id, idempotency_key="k-1")
    retry = services.top_up_create(wallet=wallet, amount=1_000, payment_method_id=card.id, idempotency_key="k-1")
    other = services.top_up_create(wallet=wallet, amount=1_000, payment_method_id=card.id, idempotency_key="k-2")
    keyless = services.top_up_create(wallet=wallet, amount=1_000, payment_method_id=card.id)
    assert retry.pk == first.pk and retry.status == TopUpStatus.SUCCEEDED
    assert len({first.provider_key, other.provider_key, keyless.provider_key}) == 3
    assert "k-1" not in first.provider_key and first.client_key not in first.provider_key
    assert sorted(call.key for call in provider.records()) == sorted(
        [first.provider_key, other.provider_key, keyless.provider_key]
    )
    wallet.account.refresh_from_db()
    assert wallet.account.balance == 3_000

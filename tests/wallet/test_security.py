import re

import pytest

from tests.accounts.factories import StudentFactory
from tests.wallet.factories import PaymentMethodFactory, funded, wallet_for
from wallet.models import PaymentMethod, TopUp, Wallet
from wemaster.core.models import IdempotencyKey
from wemaster.core.payments import get_gateway
from wemaster.ledger.models import Account

pytestmark = pytest.mark.django_db

CARD_NUMBER = re.compile(r"\d{12,19}")


@pytest.fixture
def someone_else():
    other_wallet = wallet_for(StudentFactory())
    card = PaymentMethodFactory(wallet=other_wallet)
    top_up = funded(other_wallet, 5_000)
    return other_wallet, card, top_up


def test_another_students_payment_method_is_404(student_client, wallet, someone_else):
    _, card, _ = someone_else
    url = f"/api/v1/wallet/payment-methods/{card.id}"
    for response in (student_client.patch(url, {"is_default": True}), student_client.delete(url)):
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert PaymentMethod.objects.filter(pk=card.pk, is_default=True).exists()
    assert student_client.get("/api/v1/wallet/payment-methods").json()["results"] == []


def test_another_students_transaction_is_404_and_never_listed(student_client, wallet, someone_else):
    other_wallet, _, _ = someone_else
    entry = other_wallet.account.entries.get()
    response = student_client.get(f"/api/v1/wallet/transactions/{entry.id}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert student_client.get("/api/v1/wallet/transactions").json()["results"] == []
    own = funded(wallet, 1_000).transfer.entries.get(account=wallet.account)
    assert student_client.get(f"/api/v1/wallet/transactions/{own.id}").json()["amount"] == "10.00"


def test_another_students_card_cannot_be_charged(student_client, wallet, someone_else):
    _, card, _ = someone_else
    response = student_client.post("/api/v1/wallet/top-ups", {"amount": "20.00", "payment_method": card.id})
    assert response.status_code == 400 and "payment_method" in response.json()["fields"]
    assert TopUp.objects.filter(wallet=wallet).count() == 0 and len(get_gateway().records()) == 1


def test_balance_held_and_owner_in_bodies_are_refused_and_never_applied(student_client, student, wallet, someone_else):
    other_wallet, _, _ = someone_else
    forged = {"balance": "99999.00", "held": "5.00", "owner": other_wallet.student_id, "wallet": other_wallet.id}
    refused = {name: ["Unknown field."] for name in forged}
    settings_body = {"enabled": False, "threshold": "1.00", "amount": "10.00", "monthly_cap": "10.00"}
    for method, path, body in [
        ("post", "/api/v1/wallet/payment-methods", {"token": "tok_visa"}),
        ("post", "/api/v1/wallet/top-ups", {"amount": "20.00"}),
        ("put", "/api/v1/wallet/auto-reload", settings_body),
    ]:
        response = getattr(student_client, method)(path, {**body, **forged})
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "unknown_field" and response.json()["fields"] == refused
    mine = Account.objects.get(pk=wallet.account_id)
    theirs = Account.objects.get(pk=other_wallet.account_id)
    assert (mine.balance, mine.held, mine.owner_id) == (0, 0, student.id)
    assert (theirs.balance, theirs.held) == (5_000, 0)
    assert not PaymentMethod.objects.filter(wallet=wallet).exists()
    assert Wallet.objects.get(pk=other_wallet.pk).auto_reload_threshold != 100


def test_no_card_number_is_ever_stored_or_returned(student_client, wallet):
    response = student_client.post("/api/v1/wallet/payment-methods", {"token": "4242424242424242"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_token"
    assert "4242424242424242" not in response.content.decode()
    for token in ("tok_visa", "tok_mastercard"):
        body = student_client.post("/api/v1/wallet/payment-methods", {"token": token}).json()
        assert set(body) == {"id", "brand", "last4", "exp_month", "exp_year", "is_default", "created_at"}
    student_client.post("/api/v1/wallet/top-ups", {"amount": "20.00"}, HTTP_IDEMPOTENCY_KEY="k")
    stored = [str(value) for row in PaymentMethod.objects.values() for value in row.values()]
    stored += [call.source for call in get_gateway().records()]
    stored += [str(body) for body in IdempotencyKey.objects.values_list("response_body", flat=True)]
    assert not any(CARD_NUMBER.search(value) for value in stored)
    for path in ("/api/v1/wallet", "/api/v1/wallet/payment-methods", "/api/v1/wallet/transactions"):
        assert not CARD_NUMBER.search(student_client.get(path).content.decode())

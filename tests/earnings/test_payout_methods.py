"""Payout methods: removal (soft: a withdrawal in flight keeps its account), the default moving to
the newest remaining method, someone else's is 404."""

import pytest

from earnings import services
from earnings.errors import WithdrawalNotRetryable
from earnings.models import PayoutMethod, WithdrawalStatus
from earnings.services import PayoutOutcome
from tests.earnings.conftest import balance, fail_payout
from tests.lessons.factories import tutor_teaching
from wemaster.core.payments import Kind, get_gateway
from wemaster.ledger.models import AccountKind
from wemaster.ledger.reconcile import find_discrepancies

METHODS = "/api/v1/earnings/payout-methods"
AVAILABLE = AccountKind.TUTOR_AVAILABLE

pytestmark = pytest.mark.django_db


def add(client, token="btok_ok", **extra) -> dict:
    response = client.post(METHODS, {"token": token, **extra})
    assert response.status_code == 201, response.json()
    return response.json()


def listed(client) -> list[tuple[int, bool]]:
    return [(row["id"], row["is_default"]) for row in client.get(METHODS).json()["results"]]


def test_removing_the_default_moves_it_to_the_newest_remaining_method(client_for):
    client = client_for(tutor_teaching())
    first, second, third = add(client), add(client), add(client)
    assert listed(client) == [(third["id"], False), (second["id"], False), (first["id"], True)]

    assert client.delete(f"{METHODS}/{first['id']}").status_code == 204
    assert listed(client) == [(third["id"], True), (second["id"], False)]
    assert PayoutMethod.objects.get(pk=first["id"]).removed_at is not None  # kept, marked

    assert client.delete(f"{METHODS}/{second['id']}").status_code == 204  # not the default
    assert listed(client) == [(third["id"], True)]
    assert client.delete(f"{METHODS}/{third['id']}").status_code == 204
    assert listed(client) == []
    again = client.delete(f"{METHODS}/{third['id']}")
    assert (again.status_code, again.json()["code"]) == (404, "not_found")
    assert not PayoutMethod.objects.filter(is_default=True).exists()


def test_the_default_can_be_chosen_and_unset(client_for):
    client = client_for(tutor_teaching())
    first, second = add(client), add(client)
    response = client.patch(f"{METHODS}/{second['id']}", {"is_default": True})
    assert (response.status_code, response.json()["is_default"]) == (200, True)
    assert listed(client) == [(second["id"], True), (first["id"], False)]
    client.patch(f"{METHODS}/{second['id']}", {"is_default": False})
    assert listed(client) == [(second["id"], False), (first["id"], False)]
    assert client.patch(f"{METHODS}/{first['id']}", {"is_default": "maybe"}).status_code == 400


def test_someone_elses_or_a_removed_method_is_404_and_unchanged(client_for):
    owner, intruder = client_for(tutor_teaching()), client_for(tutor_teaching())
    method = add(owner)
    for response in (
        intruder.delete(f"{METHODS}/{method['id']}"),
        intruder.patch(f"{METHODS}/{method['id']}", {"is_default": False}),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert listed(owner) == [(method["id"], True)]
    owner.delete(f"{METHODS}/{method['id']}")
    response = owner.patch(f"{METHODS}/{method['id']}", {"is_default": True})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert PayoutMethod.objects.get(pk=method["id"]).is_default is False


def test_a_removed_method_is_refused_for_new_withdrawals(client_for, funded_tutor):
    client = client_for(funded_tutor)
    method = add(client)
    client.delete(f"{METHODS}/{method['id']}")
    response = client.post("/api/v1/earnings/withdrawals", {"amount": "20.00", "payout_method": method["id"]})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert balance(funded_tutor, AVAILABLE) == 10_000


def test_a_withdrawal_in_flight_is_paid_to_its_method_removed_meanwhile(client_for, funded_tutor):
    client = client_for(funded_tutor)
    doomed, kept = add(client, "btok_ok"), add(client, "btok_flaky")
    requested = client.post("/api/v1/earnings/withdrawals", {"amount": "30.00", "payout_method": doomed["id"]})
    assert requested.status_code == 201
    assert client.delete(f"{METHODS}/{doomed['id']}").status_code == 204
    assert listed(client) == [(kept["id"], True)]

    withdrawal_id = requested.json()["id"]
    assert services.withdrawal_pay_out(withdrawal_id=withdrawal_id) == PayoutOutcome.PAID
    (payout,) = get_gateway().records(kind=Kind.PAYOUT)
    assert (payout.source, payout.amount) == (PayoutMethod.objects.get(pk=doomed["id"]).token, 3_000)
    shown = client.get(f"/api/v1/earnings/withdrawals/{withdrawal_id}").json()
    assert (shown["status"], shown["payout_method"]["id"]) == (WithdrawalStatus.PAID, doomed["id"])
    assert shown["payout_method"]["removed_at"] is not None
    assert find_discrepancies() == []


def test_a_failed_payout_to_a_removed_method_is_not_retried_there(funded_tutor):
    method = services.payout_method_add(tutor=funded_tutor, token="btok_ok")
    withdrawal = services.withdrawal_request(tutor=funded_tutor, amount=3_000, payout_method_id=method.pk)
    services.payout_method_remove(tutor=funded_tutor, payout_method_id=method.pk)
    fail_payout(withdrawal.pk)
    assert balance(funded_tutor, AVAILABLE) == 10_000  # the money is back, to withdraw elsewhere
    with pytest.raises(WithdrawalNotRetryable, match="removed"):
        services.withdrawal_retry(withdrawal_id=withdrawal.pk)


@pytest.mark.parametrize("count", [3, 30])
def test_the_list_costs_the_same_whatever_the_number_of_methods(client_for, django_assert_num_queries, settings, count):
    settings.CACHALOT_ENABLED = False
    tutor = tutor_teaching()
    for _ in range(count):
        services.payout_method_add(tutor=tutor, token="btok_ok")
    services.payout_method_remove(tutor=tutor, payout_method_id=PayoutMethod.objects.first().pk)
    client = client_for(tutor)
    client.get(METHODS)  # the token's identity is cached
    with django_assert_num_queries(1):
        assert len(client.get(METHODS, {"page_size": 100}).json()["results"]) == count - 1

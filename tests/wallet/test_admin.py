import pytest

from tests.wallet.factories import PaymentMethodFactory, funded
from wemaster.ledger.models import Account, Entry, Transfer

pytestmark = pytest.mark.django_db


def test_staff_can_browse_wallets_and_the_ledger(staff_client, wallet, student):
    PaymentMethodFactory(wallet=wallet)
    top_up = funded(wallet, 2_500)
    for path in (
        "/admin/wallet/wallet/",
        f"/admin/wallet/wallet/{wallet.id}/change/",
        "/admin/wallet/paymentmethod/",
        "/admin/wallet/topup/",
        f"/admin/wallet/topup/{top_up.id}/change/",
        "/admin/ledger/account/",
        f"/admin/ledger/account/{wallet.account_id}/change/",
        "/admin/ledger/transfer/",
        f"/admin/ledger/transfer/{top_up.transfer_id}/change/",
        "/admin/ledger/entry/",
        "/admin/ledger/hold/",
    ):
        assert staff_client.get(path).status_code == 200, path
    found = staff_client.get("/admin/ledger/transfer/", {"q": student.email}).content.decode()
    assert f"top_up:{top_up.id}" in found
    entries = staff_client.get("/admin/ledger/entry/", {"q": f"top_up:{top_up.id}"})
    assert set(entries.context["cl"].queryset) == set(Entry.objects.filter(transfer=top_up.transfer))


def test_nothing_in_the_admin_moves_money(staff_client, wallet):
    top_up = funded(wallet, 2_500)
    entry = Entry.objects.get(account=wallet.account)
    assert staff_client.get("/admin/ledger/transfer/add/").status_code == 403
    staff_client.post(f"/admin/ledger/account/{wallet.account_id}/change/", {"balance": "999999", "held": "0"})
    staff_client.post(f"/admin/ledger/entry/{entry.id}/delete/", {"post": "yes"})
    staff_client.post(f"/admin/ledger/transfer/{top_up.transfer_id}/delete/", {"post": "yes"})
    form = staff_client.get(f"/admin/wallet/wallet/{wallet.id}/change/").content.decode()
    assert 'name="balance"' not in form and 'name="account"' not in form
    account = Account.objects.get(pk=wallet.account_id)
    assert account.balance == 2_500
    assert Entry.objects.filter(pk=entry.pk).exists() and Transfer.objects.filter(pk=top_up.transfer_id).exists()

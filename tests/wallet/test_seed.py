import pytest

from wallet.models import TopUp, TopUpStatus, Wallet
from wallet.seed import DEMO_TOP_UPS
from wallet.seed import seed_demo as seed_wallets
from wemaster.accounts.seed import seed_demo as seed_accounts
from wemaster.ledger.reconcile import find_discrepancies


def no_progress(iterable, **kwargs):
    return iterable


@pytest.mark.django_db
def test_demo_students_get_a_card_and_real_top_ups_once():
    for _ in range(2):
        seed_accounts(scale=1, progress=no_progress)
        seed_wallets(scale=1, progress=no_progress)
    wallets = Wallet.objects.select_related("account")
    assert wallets.count() == 3
    assert {wallet.account.balance for wallet in wallets} == {sum(DEMO_TOP_UPS)}
    assert TopUp.objects.filter(status=TopUpStatus.SUCCEEDED).count() == 3 * len(DEMO_TOP_UPS)
    assert TopUp.objects.filter(status=TopUpStatus.FAILED, failure_code="card_declined").count() == 1
    assert all(wallet.payment_methods.filter(is_default=True).exists() for wallet in wallets)
    assert find_discrepancies() == []

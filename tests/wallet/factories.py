import factory

from tests.accounts.factories import StudentFactory
from wallet import services
from wallet.models import PaymentMethod


def wallet_for(student=None):
    return services.wallet_ensure(student=student or StudentFactory())


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    """A card row as the gateway would describe it (use the service in tests about attaching)."""

    class Meta:
        model = PaymentMethod

    wallet = factory.LazyFunction(wallet_for)
    gateway_token = "tok_visa"
    brand = "visa"
    last4 = "4242"
    exp_month = 12
    exp_year = 2030
    is_default = True


def funded(wallet, amount: int, token: str = "tok_visa"):
    """Top the wallet up through the real service (gateway charge + ledger transfer)."""
    method = PaymentMethodFactory(wallet=wallet, gateway_token=token, is_default=False)
    top_up = services.top_up_execute(top_up=services.top_up_begin(wallet=wallet, amount=amount, payment_method=method))
    wallet.account.refresh_from_db()
    return top_up

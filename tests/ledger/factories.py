from django.conf import settings

from wemaster.ledger import services
from wemaster.ledger.models import AccountKind, TransferKind


def funded_wallet(student, amount: int):
    """A student wallet credited with `amount` cents through a real top-up transfer."""
    wallet = services.student_wallet_account(student=student, currency=settings.CURRENCY)
    external = services.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=settings.CURRENCY)
    services.transfer(
        kind=TransferKind.TOP_UP,
        reference=f"test-funding:{wallet.id}:{amount}:{wallet.entries.count()}",
        currency=settings.CURRENCY,
        legs=[services.Leg(external.id, -amount), services.Leg(wallet.id, amount)],
    )
    wallet.refresh_from_db()
    return wallet

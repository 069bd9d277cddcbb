from celery import shared_task
from django.conf import settings

from wallet import services
from wallet.models import Wallet
from wemaster.core.payments import GatewayUnavailable


@shared_task(bind=True, name="wallet.auto_reload_run", max_retries=None)
def auto_reload_run(self, wallet_id: int, trigger: str) -> int | None:
    """Reload the wallet for one triggering ledger event; returns the TopUp id, if one was made.

    A transient gateway failure is retried with the same trigger (so the same gateway
    idempotency key); when the retries run out it counts as one failed reload.
    """
    try:
        top_up = services.auto_reload_run(wallet_id=wallet_id, trigger=trigger)
    except GatewayUnavailable as exc:
        if self.request.is_eager or self.request.retries >= settings.WALLET_AUTO_RELOAD_MAX_RETRIES:
            wallet = Wallet.objects.get(pk=wallet_id)
            services.auto_reload_record_failure(wallet=wallet, failure_code=exc.code)
            return None
        raise self.retry(exc=exc, countdown=settings.WALLET_AUTO_RELOAD_RETRY_DELAY_SECONDS) from exc
    return top_up.id if top_up else None


@shared_task(name="wallet.top_ups_resolve_unresolved")
def top_ups_resolve_unresolved() -> dict[str, int]:
    """Beat: settle top-ups whose provider answer was lost, by asking the provider by key."""
    return services.top_ups_resolve_unresolved()

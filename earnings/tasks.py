from celery import shared_task
from django.conf import settings

from earnings import services


@shared_task(name="earnings.tasks.earnings_clear_due")
def earnings_clear_due() -> int:
    return services.earnings_clear_due()


@shared_task(name="earnings.tasks.withdrawals_requeue_stuck")
def withdrawals_requeue_stuck() -> int:
    return services.withdrawals_requeue_stuck()


@shared_task(bind=True, name="earnings.tasks.withdrawal_pay_out", acks_late=True, max_retries=None)
def withdrawal_pay_out(self, withdrawal_id: int) -> str:
    """Pay a withdrawal out; transient gateway failures retry with exponential backoff
    (EARNINGS_PAYOUT_RETRY_*). After EARNINGS_PAYOUT_MAX_RETRIES the withdrawal stays
    `processing` with the failure visible in admin, where staff can retry it.

    Run eagerly (the embedded default) it retries inline without waiting: Celery's eager
    retry would raise out of the on-commit hook of the request that queued it."""
    outcome = services.withdrawal_pay_out(withdrawal_id=withdrawal_id)
    if self.request.is_eager:
        for _ in range(settings.EARNINGS_PAYOUT_MAX_RETRIES):
            if outcome != services.PayoutOutcome.RETRY:
                break
            outcome = services.withdrawal_pay_out(withdrawal_id=withdrawal_id)
        return outcome
    if outcome == services.PayoutOutcome.RETRY and self.request.retries < settings.EARNINGS_PAYOUT_MAX_RETRIES:
        countdown = min(
            settings.EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS * 2**self.request.retries,
            settings.EARNINGS_PAYOUT_RETRY_BACKOFF_MAX_SECONDS,
        )
        raise self.retry(countdown=countdown)
    return outcome

"""Background jobs of accounts: they take ids, re-fetch and call a service."""

from celery import shared_task

from wemaster.accounts import sessions
from wemaster.accounts.mail import password_reset_mail_send
from wemaster.accounts.models import User


@shared_task(name="wemaster.accounts.tasks.password_reset_send", ignore_result=True)
def password_reset_send(user_id: int) -> None:
    """Mail the reset link, unless the account was closed (or its password made unusable)
    since it was asked for."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None and user.has_usable_password():
        password_reset_mail_send(user)


@shared_task(name="wemaster.accounts.tasks.tokens_prune", ignore_result=True)
def tokens_prune() -> int:
    """Beat task (`AUTH_TOKEN_PRUNE_EVERY_SECONDS`): delete expired tokens."""
    return sessions.tokens_prune()

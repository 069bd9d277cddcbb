"""System checks of accounts (`manage.py check`, and at every start)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.compatibility)
def password_reset_mail_configured(app_configs, **kwargs):
    """In production without `EMAIL_URL` mail goes nowhere, so password resets never arrive."""
    if settings.PRODUCTION and not settings.EMAIL_URL:
        return [
            checks.Warning(
                "EMAIL_URL is not set: password reset mails are not sent.",
                hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587.",
                id="accounts.W001",
            )
        ]
    return []

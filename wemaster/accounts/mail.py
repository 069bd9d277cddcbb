"""Mails to account holders (sent by tasks; the backend comes from `EMAIL_URL`)."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from wemaster.accounts.models import User


def password_reset_mail_send(user: User) -> None:
    """Mail `user` a password reset link: Django's token generator, so the link expires after
    `PASSWORD_RESET_TIMEOUT` and dies once the password changes."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    context = {
        "user": user,
        "uid": uid,
        "token": token,
        "link": settings.PASSWORD_RESET_URL.format(uid=uid, token=token) if settings.PASSWORD_RESET_URL else "",
        "valid_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
    }
    subject = render_to_string("accounts/password_reset_subject.txt", context).strip()
    body = render_to_string("accounts/password_reset_email.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])

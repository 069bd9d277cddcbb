"""The notification digest mail (sent by the digest task; the backend comes from `EMAIL_URL`)."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.urls import reverse

from wemaster.accounts.models import User
from wemaster.notifications.models import Notification
from wemaster.notifications.representation import notification_text


def unsubscribe_link(token: str) -> str:
    """NOTIFICATION_UNSUBSCRIBE_URL with the token filled in; without it the API's own path
    (relative: the mail then tells the reader which call to make)."""
    if settings.NOTIFICATION_UNSUBSCRIBE_URL:
        return settings.NOTIFICATION_UNSUBSCRIBE_URL.format(token=token)
    return f"{reverse('notification-unsubscribe')}?token={token}"


def digest_mail_send(*, user: User, notifications: list[Notification], unsubscribe_token: str) -> None:
    """Mail `user` one digest of `notifications` (oldest first) with an unsubscribe link."""
    link = unsubscribe_link(unsubscribe_token)
    context = {
        "user": user,
        "lines": [notification_text(row.kind, row.payload) for row in notifications],
        "count": len(notifications),
        "unsubscribe": link,
        "absolute": bool(settings.NOTIFICATION_UNSUBSCRIBE_URL),
    }
    subject = render_to_string("notifications/digest_subject.txt", context).strip()
    body = render_to_string("notifications/digest_email.txt", context)
    headers = {"List-Unsubscribe": f"<{link}>"} if context["absolute"] else {}
    EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email], headers=headers).send()

from wemaster.core.errors import DomainError, NotFound


class NotificationNotFound(NotFound):
    default_detail = "Notification not found."


class InvalidUnsubscribeToken(DomainError):
    """An unsubscribe link that was not made here (or was altered)."""

    code = "invalid_token"
    default_detail = "This unsubscribe link is invalid."

"""The notification object of the API, the same in REST bodies, websocket frames and emails."""

from messaging.events import isoformat
from wemaster.core.money import format_minor
from wemaster.notifications.models import Notification, NotificationKind

# One sentence per kind, filled from the payload the cause stored (no query to render a list).
TEXTS = {
    NotificationKind.LESSON_BOOKED: "New lesson booked for {starts_at}.",
    NotificationKind.LESSON_CANCELLED: "The lesson of {starts_at} was cancelled by the {by}.",
    NotificationKind.LESSON_COMPLETED: "The lesson of {starts_at} is complete.",
    NotificationKind.LESSON_PROBLEM_REPORTED: "The student reported a problem with the lesson of {starts_at}.",
    NotificationKind.REFUND_REQUESTED: "The student asked for a refund of {amount} for the lesson of {starts_at}.",
    NotificationKind.REFUND_DECIDED: "Your refund request for the lesson of {starts_at} was {status}.",
    NotificationKind.PAYOUT_PAID: "Your payout of {amount} was paid.",
    NotificationKind.PAYOUT_FAILED: "Your payout of {amount} failed ({reason}); the money is back in your balance.",
    NotificationKind.AUTO_RELOAD_FAILED: "An automatic top-up of your wallet failed ({failure_code}).",
    NotificationKind.AUTO_RELOAD_DISABLED: "{reason}",
    NotificationKind.POST_REPLY: "New reply on your post \u201c{title}\u201d.",
    NotificationKind.ANSWER_ACCEPTED: "Your answer on \u201c{title}\u201d was accepted.",
    NotificationKind.MESSAGES: "New messages from user {sender} while you were away.",
}


def _fields(payload: dict) -> dict:
    fields = dict(payload)
    if "amount" in fields and "currency" in fields:
        fields["amount"] = f"{format_minor(fields['amount'])} {fields['currency']}"
    if "starts_at" in fields:
        fields["starts_at"] = fields["starts_at"].replace("T", " ").replace("Z", " UTC")
    return fields


def notification_text(kind: str, payload: dict) -> str:
    try:
        return TEXTS[kind].format(**_fields(payload))
    except KeyError:  # a payload written by an older release that lacks a field
        return NotificationKind(kind).label


def notification_as_dict(notification: Notification) -> dict:
    return {
        "id": notification.id,
        "kind": notification.kind,
        "text": notification_text(notification.kind, notification.payload),
        "data": notification.payload,
        "created_at": isoformat(notification.created_at),
        "read_at": isoformat(notification.read_at),
    }

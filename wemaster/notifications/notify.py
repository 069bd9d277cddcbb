"""What each cause tells whom: the one call a service makes where its change is decided, inside
its transaction (`notify.lesson_booked(lesson=lesson)`). Nobody is notified of their own act.

Cause keys make a repeated report of one cause harmless (services.notification_create); where a
cause can happen again to the same object (auto-reload turned off twice), the key carries the
time, and the cause's own transaction keeps it to one row.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone

from community.models import Comment
from earnings.models import WithdrawalStatus
from messaging import sockets
from messaging.events import isoformat
from wemaster.notifications.models import NotificationKind as Kind
from wemaster.notifications.services import notification_create, notifications_create_unpushed


def _lesson_payload(lesson) -> dict:
    return {"lesson": lesson.id, "starts_at": isoformat(lesson.starts_at)}


def lesson_booked(*, lesson) -> None:
    notification_create(
        recipient_id=lesson.tutor_id,
        kind=Kind.LESSON_BOOKED,
        cause_key=f"lesson:{lesson.id}",
        payload={**_lesson_payload(lesson), "student": lesson.student_id},
    )


def lesson_cancelled(*, lesson, actor) -> None:
    """The other party; both when neither cancelled (staff, a task), in user-id order (the
    order event sequences are locked in, wemaster.ledger.locks)."""
    parties = {"student": lesson.student_id, "tutor": lesson.tutor_id}
    by = next((role for role, user_id in parties.items() if actor is not None and actor.id == user_id), "staff")
    for user_id in sorted(parties.values()):
        if actor is None or user_id != actor.id:
            notification_create(
                recipient_id=user_id,
                kind=Kind.LESSON_CANCELLED,
                cause_key=f"lesson:{lesson.id}",
                payload={**_lesson_payload(lesson), "by": by},
            )


def lesson_completed(*, lesson, actor) -> None:
    """The student, unless they confirmed it themselves."""
    if actor is not None and actor.id == lesson.student_id:
        return
    notification_create(
        recipient_id=lesson.student_id,
        kind=Kind.LESSON_COMPLETED,
        cause_key=f"lesson:{lesson.id}",
        payload=_lesson_payload(lesson),
    )


def lesson_problem_reported(*, lesson) -> None:
    notification_create(
        recipient_id=lesson.tutor_id,
        kind=Kind.LESSON_PROBLEM_REPORTED,
        cause_key=f"lesson:{lesson.id}",
        payload={**_lesson_payload(lesson), "reason": lesson.problem_reason[:200]},
    )


def refund_requested(*, refund) -> None:
    notification_create(
        recipient_id=refund.lesson.tutor_id,
        kind=Kind.REFUND_REQUESTED,
        cause_key=f"refund:{refund.id}",
        payload={
            **_lesson_payload(refund.lesson),
            "refund_request": refund.id,
            "amount": refund.amount,
            "currency": refund.currency,
        },
    )


def refund_decided(*, refund, lesson) -> None:
    notification_create(
        recipient_id=refund.student_id,
        kind=Kind.REFUND_DECIDED,
        cause_key=f"refund:{refund.id}",
        payload={**_lesson_payload(lesson), "refund_request": refund.id, "status": refund.status},
    )


def payout_settled(*, withdrawal) -> None:
    """Paid or failed (the withdrawal's status says which); one per payout round."""
    paid = withdrawal.status == WithdrawalStatus.PAID
    payload = {"withdrawal": withdrawal.id, "amount": withdrawal.amount, "currency": withdrawal.currency}
    if not paid:
        payload["reason"] = withdrawal.failure_reason
    notification_create(
        recipient_id=withdrawal.tutor_id,
        kind=Kind.PAYOUT_PAID if paid else Kind.PAYOUT_FAILED,
        cause_key=f"withdrawal:{withdrawal.id}:{withdrawal.round}",
        payload=payload,
    )


def _now_key() -> str:
    return f"{timezone.now():%Y%m%dT%H%M%S%f}"


def auto_reload_failed(*, wallet, failure_code: str) -> None:
    notification_create(
        recipient_id=wallet.student_id,
        kind=Kind.AUTO_RELOAD_FAILED,
        cause_key=f"wallet:{wallet.id}:{_now_key()}",
        payload={"failure_code": failure_code or "declined"},
    )


def auto_reload_disabled(*, wallet) -> None:
    notification_create(
        recipient_id=wallet.student_id,
        kind=Kind.AUTO_RELOAD_DISABLED,
        cause_key=f"wallet:{wallet.id}:{_now_key()}",
        payload={"reason": wallet.auto_reload_disabled_reason},
    )


def comment_created(*, post, comment) -> None:
    """The post's author, unless they wrote the comment."""
    if comment.author_id == post.author_id:
        return
    notification_create(
        recipient_id=post.author_id,
        kind=Kind.POST_REPLY,
        cause_key=f"comment:{comment.id}",
        payload={"post": post.id, "comment": comment.id, "title": post.title},
    )


def answer_accepted(*, post) -> None:
    """The accepted comment's author, unless they accepted their own answer."""
    if post.accepted_comment_id is None:
        return
    author_id = Comment.objects.filter(pk=post.accepted_comment_id).values_list("author_id", flat=True).first()
    if author_id is None or author_id == post.author_id:
        return
    notification_create(
        recipient_id=author_id,
        kind=Kind.ANSWER_ACCEPTED,
        cause_key=f"accept:{post.id}:{post.accepted_comment_id}",
        payload={"post": post.id, "comment": post.accepted_comment_id, "title": post.title},
    )


def message_window(moment: datetime) -> str:
    """The start of the NOTIFICATION_EMAIL_DELAY_MINUTES window holding `moment` (UTC)."""
    width = max(1, settings.NOTIFICATION_EMAIL_DELAY_MINUTES) * 60  # a delay of 0 still makes windows
    start = int(moment.timestamp()) // width * width
    return f"{datetime.fromtimestamp(start, tz=UTC):%Y-%m-%dT%H:%M:%SZ}"


def message_received(*, message, recipient_ids) -> None:
    """Recipients with no open socket get one `messages` notification per conversation and
    window, whatever the number of messages in it (one Redis round trip to tell who is online,
    one INSERT). It is not pushed: its recipient had no socket, and the messages' own events
    replay on the next connection, so the replay carries them once. It is listed and mailed."""
    others = [user_id for user_id in recipient_ids if user_id != message.sender_id]
    online = sockets.users_with_open_sockets(others)
    notifications_create_unpushed(
        recipient_ids=[user_id for user_id in others if user_id not in online],
        kind=Kind.MESSAGES,
        cause_key=f"conv:{message.conversation_id}:{message_window(message.created_at)}",
        payload={"conversation": message.conversation_id, "sender": message.sender_id, "message": message.id},
    )

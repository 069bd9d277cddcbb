"""Notification writes: creation inside the cause's transaction, reading, email preferences, the
unsubscribe link and the email digest.

A notification is inserted in the transaction of what caused it, so it commits or rolls back
with it, and with ON CONFLICT DO NOTHING on `(recipient, kind, cause_key)`, so one cause
notifies a recipient once however often it is reported. Its `notification.created` event is
stored in the same transaction (the recipient's event numbering and replay, as chat's) and sent
to the recipient's sockets after commit (messaging.events).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import connections, router, transaction
from django.utils import timezone

from messaging import events, sockets
from wemaster.accounts.models import User
from wemaster.notifications import mail, selectors
from wemaster.notifications.errors import InvalidUnsubscribeToken, NotificationNotFound
from wemaster.notifications.models import EmailOptOut, Notification, NotificationKind
from wemaster.notifications.representation import notification_as_dict

logger = logging.getLogger(__name__)

NOTIFICATION_CREATED = "notification.created"
UNSUBSCRIBE_SALT = "wemaster.notifications.unsubscribe"
ALL_KINDS = "all"


def notification_create(*, recipient_id: int, kind: str, cause_key: str, payload: dict) -> Notification | None:
    """Store the notification of `cause_key` for the recipient and emit `notification.created`
    to them (sent on commit). Returns None, and emits nothing, when this cause already notified
    them.

    Precondition: called inside the transaction of the cause (a transaction of its own is opened
    otherwise). Costs one INSERT, plus the event's three queries for a new row.
    """
    db = router.db_for_write(Notification)
    connection = connections[db]
    meta = Notification._meta
    now = timezone.now()
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} (recipient_id, kind, cause_key, payload, created_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (recipient_id, kind, cause_key) DO NOTHING RETURNING id"
    )
    params = [
        recipient_id,
        kind,
        cause_key,
        meta.get_field("payload").get_db_prep_save(payload, connection),
        meta.get_field("created_at").get_db_prep_save(now, connection),
    ]
    with transaction.atomic(using=db, savepoint=False), connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            return None
        notification = Notification(
            id=row[0], recipient_id=recipient_id, kind=kind, cause_key=cause_key, payload=payload, created_at=now
        )
        events.events_emit(
            user_ids=[recipient_id],
            type=NOTIFICATION_CREATED,
            payload={"notification": notification_as_dict(notification)},
        )
    return notification


def notifications_create_unpushed(*, recipient_ids, kind: str, cause_key: str, payload: dict) -> None:
    """The notification of `cause_key` for each recipient it has not reached yet, in one INSERT
    (ON CONFLICT DO NOTHING), without a `notification.created` event: for recipients who are
    offline by definition (`notify.message_received`). Listed and mailed like any other."""
    rows = [
        Notification(recipient_id=user_id, kind=kind, cause_key=cause_key, payload=payload)
        for user_id in sorted(set(recipient_ids))
    ]
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)


@transaction.atomic
def notifications_mark_read(*, user: User, notification_id: int | None = None, up_to: int | None = None) -> int:
    """Mark one notification (`notification_id`) or all up to and including `up_to` read; returns
    how many changed (already read ones are left as they were).
    Raises NotificationNotFound when the id named is not one of the user's notifications."""
    target = notification_id if notification_id is not None else up_to
    if not Notification.objects.filter(pk=target, recipient_id=user.id).exists():
        raise NotificationNotFound()
    unread = Notification.objects.filter(recipient_id=user.id, read_at__isnull=True)
    unread = unread.filter(pk=notification_id) if notification_id is not None else unread.filter(pk__lte=up_to)
    return unread.update(read_at=timezone.now())


@transaction.atomic
def email_settings_update(*, user_id: int, email: dict[str, bool]) -> None:
    """Turn email on (True) or off (False) per kind; kinds not named keep their setting.
    Precondition: the keys are NotificationKind values (the serializer checks)."""
    off = [kind for kind, wanted in email.items() if not wanted]
    on = [kind for kind, wanted in email.items() if wanted]
    if off:
        EmailOptOut.objects.bulk_create(
            [EmailOptOut(user_id=user_id, kind=kind) for kind in off], ignore_conflicts=True
        )
    if on:
        EmailOptOut.objects.filter(user_id=user_id, kind__in=on).delete()


def unsubscribe_token(*, user_id: int, kind: str = ALL_KINDS) -> str:
    """The token of an unsubscribe link: signed, so it names only the user it was made for.
    It does not expire: an old email's link must keep working."""
    return signing.dumps({"u": user_id, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe(*, token: str) -> tuple[int, str]:
    """Turn email off for the kind (or every kind) the token names; returns (user id, kind).
    Repeating it changes nothing. Raises InvalidUnsubscribeToken for a token not made here."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        user_id, kind = data["u"], data["k"]
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidUnsubscribeToken() from exc
    if not isinstance(user_id, int) or (kind != ALL_KINDS and kind not in NotificationKind.values):
        raise InvalidUnsubscribeToken()
    if not User.objects.filter(pk=user_id).exists():
        raise InvalidUnsubscribeToken()
    kinds = NotificationKind.values if kind == ALL_KINDS else [kind]
    email_settings_update(user_id=user_id, email=dict.fromkeys(kinds, False))
    return user_id, kind


def digests_send(*, now=None) -> int:
    """Email each user with no open socket one digest of their unread, not yet emailed
    notifications older than NOTIFICATION_EMAIL_DELAY_MINUTES (and younger than
    NOTIFICATION_EMAIL_MAX_AGE_HOURS), of the kinds they kept email on for. Returns how many
    digests went out. Runs from beat every NOTIFICATION_EMAIL_EVERY_SECONDS."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.NOTIFICATION_EMAIL_DELAY_MINUTES)
    oldest = now - timedelta(hours=settings.NOTIFICATION_EMAIL_MAX_AGE_HOURS)
    users = selectors.digest_recipients(cutoff=cutoff, oldest=oldest, limit=settings.NOTIFICATION_EMAIL_BATCH)
    online = sockets.users_with_open_sockets(user.id for user in users)  # they were told live
    sent = 0
    for user in users:
        if user.id not in online and digest_send(user=user, cutoff=cutoff, oldest=oldest, now=now):
            sent += 1
    return sent


def digest_send(*, user: User, cutoff, oldest, now) -> bool:
    """One digest for `user`, or nothing when another worker holds their notifications or the
    user was mailed a digest less than NOTIFICATION_EMAIL_DELAY_MINUTES ago.

    The notifications are locked with SKIP LOCKED and marked emailed in the transaction that
    sends the mail: two workers never mail the same rows, and a failed send leaves them for
    the next run."""
    with transaction.atomic():
        window_start = now - timedelta(minutes=settings.NOTIFICATION_EMAIL_DELAY_MINUTES)
        if Notification.objects.filter(recipient_id=user.id, emailed_at__gt=window_start).exists():
            return False  # one digest per window: the rest waits for the next one
        due = list(
            selectors.due_for_email(cutoff=cutoff, oldest=oldest)
            .filter(recipient_id=user.id)
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")[: settings.NOTIFICATION_EMAIL_MAX_PER_DIGEST]
        )
        if not due:
            return False
        mail.digest_mail_send(user=user, notifications=due, unsubscribe_token=unsubscribe_token(user_id=user.id))
        Notification.objects.filter(pk__in=[row.pk for row in due]).update(emailed_at=now)
    logger.info("notification digest sent", extra={"user_id": user.id, "notifications": len(due)})
    return True

"""The booking flow: the one place that ties a student's wallet hold to a tutor's earnings.

lesson_book      hold the price on the student's wallet           booked
lesson_complete  capture the hold: tutor pending net + commission  booked -> completed
lesson_cancel    void the hold (or capture a late-cancellation fee) booked -> cancelled
Each transition locks the lesson row and happens exactly once (409 `invalid_transition`).
"""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from earnings import services as earnings
from earnings.models import EarningKind
from wemaster.accounts.models import Role, TutorProfile
from wemaster.core.errors import NotFound, ValidationFailed
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, TransferKind
from wemaster.lessons.errors import (
    CannotBookSelf,
    ConflictOfInterest,
    InvalidTransition,
    OnlyStudentsBook,
    RefundAlreadyDecided,
    RefundAlreadyRequested,
    RefundNotAllowed,
    SlotTaken,
)
from wemaster.lessons.models import Lesson, LessonStatus, RefundRequest, RefundStatus


def lesson_price(*, hourly_rate: int, duration_minutes: int) -> int:
    """Hourly rate × duration, rounded half up to the cent (e.g. 45.00/h × 50 min = 37.50)."""
    return (hourly_rate * duration_minutes + 30) // 60


def _check_duration(duration_minutes: int) -> None:
    low, high = settings.LESSONS_MIN_DURATION_MINUTES, settings.LESSONS_MAX_DURATION_MINUTES
    step = settings.LESSONS_DURATION_STEP_MINUTES
    if not low <= duration_minutes <= high or duration_minutes % step:
        raise ValidationFailed(fields={"duration_minutes": [f"Between {low} and {high} minutes, in steps of {step}."]})


@transaction.atomic
def lesson_book(
    *, student, tutor_id: int, subject: str, starts_at: datetime, duration_minutes: int, now: datetime | None = None
) -> Lesson:
    """Book a future slot and hold its price on the student's wallet.

    The tutor's profile row is locked (SELECT ... FOR UPDATE) before the overlap check, so
    two concurrent bookings of one tutor serialize and the second sees the first's slot.
    `now` is the booking time (the seed books past lessons with it).
    Raises OnlyStudentsBook, CannotBookSelf, ValidationFailed, SlotTaken, InsufficientFunds (402).
    """
    now = now or timezone.now()
    if tutor_id == student.id:
        raise CannotBookSelf()
    if student.role != Role.STUDENT:
        raise OnlyStudentsBook()
    _check_duration(duration_minutes)
    if starts_at <= now:
        raise ValidationFailed(fields={"starts_at": ["The lesson must start in the future."]})
    profile = (
        TutorProfile.objects.select_for_update()
        .filter(user_id=tutor_id, user__role=Role.TUTOR, user__is_active=True)
        .first()
    )
    if profile is None:
        raise ValidationFailed(fields={"tutor": ["Not a tutor."]})
    subject_row = profile.subjects.filter(name=subject.strip().lower()).first()
    if subject_row is None:
        raise ValidationFailed(fields={"subject": ["The tutor does not teach this subject."]})
    price = lesson_price(hourly_rate=profile.hourly_rate, duration_minutes=duration_minutes)
    if price <= 0:
        raise ValidationFailed(fields={"tutor": ["This tutor has no hourly rate yet."]})
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    overlapping = Lesson.objects.filter(
        tutor_id=tutor_id, status=LessonStatus.BOOKED, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if overlapping.exists():
        raise SlotTaken()
    wallet = ledger.student_wallet_account(student=student, currency=profile.currency)
    hold = ledger.hold_create(account=wallet, amount=price, reference=f"lesson-hold:{uuid.uuid4().hex}")
    return Lesson.objects.create(
        student=student,
        tutor_id=tutor_id,
        subject=subject_row,
        starts_at=starts_at,
        ends_at=ends_at,
        duration_minutes=duration_minutes,
        currency=profile.currency,
        price=price,
        hold=hold,
    )


def _lock_lesson(*, lesson_id: int, actor) -> Lesson:
    """Lock a lesson the actor takes part in (`actor=None`: the system). Raises NotFound."""
    lessons = Lesson.objects.select_for_update().select_related("hold")
    lesson = lessons.filter(pk=lesson_id).first()
    if lesson is None or (actor is not None and actor.id not in (lesson.student_id, lesson.tutor_id)):
        raise NotFound("Lesson not found.")
    if lesson.status != LessonStatus.BOOKED:
        raise InvalidTransition(f"The lesson is already {lesson.status}.")
    return lesson


@transaction.atomic
def lesson_complete(*, lesson_id: int, actor, at: datetime | None = None) -> Lesson:
    """Capture the hold: the tutor's net to tutor pending, the commission (tier by lifetime hours)
    to platform revenue; record the tutor's earning. `actor` is the tutor, the student or None
    (the auto-complete task). Raises NotFound, InvalidTransition."""
    at = at or timezone.now()
    lesson = _lock_lesson(lesson_id=lesson_id, actor=actor)
    percent, commission, net = earnings.commission_quote(tutor_id=lesson.tutor_id, gross=lesson.price)
    pending = earnings.tutor_account(tutor_id=lesson.tutor_id, kind=AccountKind.TUTOR_PENDING, currency=lesson.currency)
    revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=lesson.currency)
    credits = [ledger.Leg(account.id, amount) for account, amount in ((pending, net), (revenue, commission)) if amount]
    ledger.hold_capture(
        hold=lesson.hold, kind=TransferKind.LESSON_CHARGE, reference=lesson.charge_reference, credits=credits
    )
    lesson.status = LessonStatus.COMPLETED
    lesson.commission = commission
    lesson.completed_at = at
    lesson.save(update_fields=["status", "commission", "completed_at", "updated_at"])
    earnings.earning_record(
        tutor_id=lesson.tutor_id,
        student_id=lesson.student_id,
        subject_id=lesson.subject_id,
        lesson_id=lesson.pk,
        kind=EarningKind.LESSON,
        minutes=lesson.duration_minutes,
        currency=lesson.currency,
        gross=lesson.price,
        commission=commission,
        net=net,
        commission_percent=percent,
        earned_at=at,
    )
    return lesson


def late_cancellation_fee(*, lesson: Lesson, actor, at: datetime) -> int:
    """What the student pays the tutor for cancelling: nothing before the cut-off
    (LESSONS_FREE_CANCELLATION_HOURS before the start) or when the tutor cancels; after it,
    LESSONS_LATE_CANCELLATION_TUTOR_SHARE_PERCENT of the price, rounded half up."""
    cutoff = lesson.starts_at - timedelta(hours=settings.LESSONS_FREE_CANCELLATION_HOURS)
    if at < cutoff or (actor is not None and actor.id == lesson.tutor_id):
        return 0
    return (lesson.price * settings.LESSONS_LATE_CANCELLATION_TUTOR_SHARE_PERCENT + 50) // 100


@transaction.atomic
def lesson_cancel(*, lesson_id: int, actor, at: datetime | None = None) -> Lesson:
    """Void the hold, or, for a late cancellation by the student, capture the tutor's share
    (to tutor pending, no commission, recorded as a cancellation-fee earning) and release the
    rest. Raises NotFound, InvalidTransition."""
    at = at or timezone.now()
    lesson = _lock_lesson(lesson_id=lesson_id, actor=actor)
    fee = late_cancellation_fee(lesson=lesson, actor=actor, at=at)
    if fee:
        pending = earnings.tutor_account(
            tutor_id=lesson.tutor_id, kind=AccountKind.TUTOR_PENDING, currency=lesson.currency
        )
        ledger.hold_capture(
            hold=lesson.hold,
            kind=TransferKind.LESSON_CANCELLATION_FEE,
            reference=lesson.charge_reference,
            credits=[ledger.Leg(pending.id, fee)],
        )
        earnings.earning_record(
            tutor_id=lesson.tutor_id,
            student_id=lesson.student_id,
            subject_id=lesson.subject_id,
            lesson_id=lesson.pk,
            kind=EarningKind.CANCELLATION_FEE,
            minutes=0,
            currency=lesson.currency,
            gross=fee,
            commission=0,
            net=fee,
            commission_percent=0,
            earned_at=at,
        )
    else:
        ledger.hold_void(hold=lesson.hold)
    lesson.status = LessonStatus.CANCELLED
    lesson.cancellation_fee = fee
    lesson.cancelled_at = at
    lesson.save(update_fields=["status", "cancellation_fee", "cancelled_at", "updated_at"])
    return lesson


def lessons_auto_complete(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Complete booked lessons that ended LESSONS_AUTO_COMPLETE_AFTER_HOURS ago, one transaction
    each (a lesson completed meanwhile by its tutor or student is skipped). Returns how many."""
    now = now or timezone.now()
    due_before = now - timedelta(hours=settings.LESSONS_AUTO_COMPLETE_AFTER_HOURS)
    due = list(
        Lesson.objects.filter(status=LessonStatus.BOOKED, ends_at__lte=due_before)
        .order_by("id")
        .values_list("id", flat=True)[: batch_size or settings.LESSONS_AUTO_COMPLETE_BATCH_SIZE]
    )
    completed = 0
    for lesson_id in due:
        try:
            lesson_complete(lesson_id=lesson_id, actor=None, at=now)
        except InvalidTransition:
            continue
        completed += 1
    return completed


# --- refund requests (the wallet's refunds of lesson charges) ------------------------------------


@transaction.atomic
def refund_request_create(*, student, lesson_id: int, reason: str) -> RefundRequest:
    """A student asks for a completed lesson's charge back, once per lesson.

    Raises NotFound (not the student's lesson), ValidationFailed (blank reason),
    RefundNotAllowed (not completed), RefundAlreadyRequested.
    """
    lesson = Lesson.objects.filter(pk=lesson_id, student=student).first()
    if lesson is None:
        raise NotFound("Lesson not found.")
    if not reason.strip():
        raise ValidationFailed(fields={"reason": ["A reason is required."]})
    if lesson.status != LessonStatus.COMPLETED:
        raise RefundNotAllowed()
    try:
        with transaction.atomic():
            return RefundRequest.objects.create(
                lesson=lesson, student=student, reason=reason.strip(), amount=lesson.price, currency=lesson.currency
            )
    except IntegrityError as exc:
        raise RefundAlreadyRequested() from exc


def _lock_refund_for_decision(*, refund_request_id: int, staff) -> tuple[RefundRequest, Lesson]:
    """Lock the lesson, then its refund request (the one lock order: lesson before request), refuse
    a staff member who is the lesson's student or tutor, and check the request is still pending.

    Raises NotFound, ConflictOfInterest, RefundAlreadyDecided.
    """
    lesson_id = RefundRequest.objects.filter(pk=refund_request_id).values_list("lesson_id", flat=True).first()
    if lesson_id is None:
        raise NotFound("Refund request not found.")
    lesson = Lesson.objects.select_for_update().get(pk=lesson_id)
    refund = RefundRequest.objects.select_for_update().get(pk=refund_request_id)
    if staff.id in (lesson.student_id, lesson.tutor_id, refund.student_id):
        raise ConflictOfInterest()
    if refund.status != RefundStatus.PENDING:
        raise RefundAlreadyDecided(f"This refund request was already {refund.status}.")
    return refund, lesson


@transaction.atomic
def refund_request_approve(*, refund_request_id: int, staff, at: datetime | None = None) -> RefundRequest:
    """Move the lesson charge back to the student's wallet, exactly once (the lesson and request
    rows are locked and the refund transfer's reference `lesson:<id>` is unique).

    Where the money comes from: the commission from platform revenue; the tutor's net from tutor
    pending if the earning has not cleared, else from tutor available as far as it reaches; the
    rest (what the tutor already withdrew, or has in a payout still in flight) is debited to the
    tutor's receivable: the platform advances it to the student and the tutor repays it from the
    next earnings that clear and from a failed payout's returned money. The request records
    `tutor_recovered` and, in `platform_covered`, what was put on the receivable.
    Locks, in the one order: lesson, request, earning, then every account of the transfer at once.
    The earning is marked refunded and `staff` recorded as the decider.
    Raises NotFound, ConflictOfInterest (staff is the lesson's student or tutor), RefundAlreadyDecided.
    """
    at = at or timezone.now()
    refund, lesson = _lock_refund_for_decision(refund_request_id=refund_request_id, staff=staff)
    earning = earnings.earning_lock_for_refund(lesson_id=lesson.pk)
    currency = lesson.currency
    wallet = ledger.student_wallet_account(student=refund.student, currency=currency)
    revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=currency)
    recovery = earnings.earning_refund_legs(earning=earning, lock_with=[wallet.id, revenue.id])
    legs = [ledger.Leg(wallet.id, refund.amount), *recovery.legs]
    if lesson.commission:
        legs.append(ledger.Leg(revenue.id, -lesson.commission))
    ledger.transfer(kind=TransferKind.REFUND, reference=lesson.charge_reference, currency=currency, legs=legs)
    earnings.earning_mark_refunded(earning=earning, now=at)
    refund.status = RefundStatus.APPROVED
    refund.commission_returned = lesson.commission
    refund.tutor_recovered = recovery.recovered
    refund.platform_covered = recovery.owed
    refund.decided_by = staff
    refund.decided_at = at
    refund.save()
    return refund


@transaction.atomic
def refund_request_reject(*, refund_request_id: int, staff, at: datetime | None = None) -> RefundRequest:
    """Refuse a pending refund; no money moves; `staff` is recorded as the decider.

    Raises NotFound, ConflictOfInterest (staff is the lesson's student or tutor), RefundAlreadyDecided.
    """
    refund, _ = _lock_refund_for_decision(refund_request_id=refund_request_id, staff=staff)
    refund.status = RefundStatus.REJECTED
    refund.decided_by = staff
    refund.decided_at = at or timezone.now()
    refund.save(update_fields=["status", "decided_by", "decided_at"])
    return refund

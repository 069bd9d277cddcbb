"""The booking flow: the one place that ties a student's wallet hold to a tutor's earnings.

lesson_book            hold the price on the student's wallet                  -> booked
lesson_cancel          before the start: void the hold (or charge a late fee)   booked -> cancelled
lesson_complete        after the end: capture the hold, tutor net + commission  booked -> completed
lesson_report_problem  the student, within the report window after the end      booked -> disputed
lesson_dispute_resolve staff: capture as a completion, or void the hold         disputed -> completed|cancelled
Each transition locks the lesson row and happens exactly once (409 `invalid_transition`).

Time rules (docs/ARCHITECTURE.md, Time rules): a lesson is cancelled only before it starts and completed only
after it ends. The student may confirm (complete) at once after the end, or report a problem
until LESSONS_PROBLEM_REPORT_WINDOW_HOURS after it; the tutor's completion and the
auto-completion capture only once that window has closed, so nobody can take the money while
the student may still object.

Locks follow the order of wemaster.ledger.locks (lesson, then hold, then accounts; booking:
tutor profile, then the wallet account). Every lesson service is an outermost transaction
retried on lock conflicts; one that outlasts the retries raises LockConflict (409).
"""

import logging
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from earnings import services as earnings
from earnings.models import EarningKind
from wemaster.accounts.models import Role, TutorProfile
from wemaster.core.errors import DomainError, NotFound, ValidationFailed
from wemaster.ledger import services as ledger
from wemaster.ledger.locks import retry_on_lock_conflict
from wemaster.ledger.models import AccountKind, TransferKind
from wemaster.lessons.errors import (
    CannotBookSelf,
    ConflictOfInterest,
    InvalidTransition,
    LessonNotEnded,
    LessonStarted,
    OnlyStudentsBook,
    OnlyStudentsReport,
    RefundAlreadyDecided,
    RefundAlreadyRequested,
    RefundNotAllowed,
    ReportWindowClosed,
    ReportWindowOpen,
    SlotTaken,
    StaffOnly,
    TutorNotBookable,
)
from wemaster.lessons.models import OCCUPYING, DisputeOutcome, Lesson, LessonStatus, RefundRequest, RefundStatus
from wemaster.notifications import notify
from wemaster.reviews.services import review_hide_for_refund
from wemaster.scheduling import services as scheduling
from wemaster.scheduling.selectors import availability_annotations

logger = logging.getLogger(__name__)


def lesson_price(*, hourly_rate: int, duration_minutes: int) -> int:
    """Hourly rate × duration, rounded half up to the cent (e.g. 45.00/h × 50 min = 37.50)."""
    return (hourly_rate * duration_minutes + 30) // 60


def check_duration(duration_minutes: int, *, field: str = "duration_minutes") -> None:
    """A lesson length booking accepts (the slot list asks the same). Raises ValidationFailed on `field`."""
    low, high = settings.LESSONS_MIN_DURATION_MINUTES, settings.LESSONS_MAX_DURATION_MINUTES
    step = settings.LESSONS_DURATION_STEP_MINUTES
    if not low <= duration_minutes <= high or duration_minutes % step:
        raise ValidationFailed(fields={field: [f"Between {low} and {high} minutes, in steps of {step}."]})


def _when(moment: datetime) -> str:
    """A time as the API writes it (ISO-8601 UTC), for error texts."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


@retry_on_lock_conflict
@transaction.atomic
def lesson_book(
    *, student, tutor_id: int, subject: str, starts_at: datetime, duration_minutes: int, now: datetime | None = None
) -> Lesson:
    """Book a future slot and hold its price on the student's wallet.

    The tutor's profile row alone is locked (`of=("self",)`: the join to the user row only
    filters; locking that row too would block every insert pointing at the tutor, the
    completion's earning among them) before the overlap check, so two concurrent bookings of
    one tutor serialize and the second sees the first's slot. Then the wallet account is
    updated (the hold): profile before accounts, as in wemaster.ledger.locks.
    `now` is the booking time (the seed books past lessons with it).
    The lesson must lie inside the tutor's availability (wemaster.scheduling), read with the lock.
    Cached slot lists of the tutor are invalidated on commit.
    Raises OnlyStudentsBook, CannotBookSelf, ValidationFailed, TutorNotBookable,
    OutsideAvailability, SlotTaken, InsufficientFunds (402).
    """
    now = now or timezone.now()
    if tutor_id == student.id:
        raise CannotBookSelf()
    if student.role != Role.STUDENT:
        raise OnlyStudentsBook()
    check_duration(duration_minutes)
    if starts_at <= now:
        raise ValidationFailed(fields={"starts_at": ["The lesson must start in the future."]})
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    profile = _lock_tutor_profile(tutor_id=tutor_id, subject=subject, starts_at=starts_at, ends_at=ends_at)
    if profile is None:
        raise ValidationFailed(fields={"tutor": ["Not a tutor."]})
    if profile.hourly_rate <= 0 or not profile.teaches_any:
        raise TutorNotBookable()
    if profile.subject_id is None:
        raise ValidationFailed(fields={"subject": ["The tutor does not teach this subject."]})
    price = lesson_price(hourly_rate=profile.hourly_rate, duration_minutes=duration_minutes)
    if price <= 0:
        raise ValidationFailed(fields={"duration_minutes": ["Too short to cost anything at this tutor's rate."]})
    scheduling.availability_check(profile=profile, starts_at=starts_at, ends_at=ends_at)
    overlapping = Lesson.objects.filter(
        tutor_id=tutor_id, status__in=OCCUPYING, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if overlapping.exists():
        raise SlotTaken()
    wallet = ledger.student_wallet_account(student=student, currency=profile.currency)
    hold = ledger.hold_create(account=wallet, amount=price, reference=f"lesson-hold:{uuid.uuid4().hex}")
    scheduling.tutor_slots_changed(tutor_id=tutor_id)
    lesson = Lesson.objects.create(
        student=student,
        tutor_id=tutor_id,
        subject_id=profile.subject_id,
        starts_at=starts_at,
        ends_at=ends_at,
        duration_minutes=duration_minutes,
        currency=profile.currency,
        price=price,
        hold=hold,
    )
    notify.lesson_booked(lesson=lesson)
    return lesson


def _lock_tutor_profile(*, tutor_id: int, subject: str, starts_at: datetime, ends_at: datetime) -> TutorProfile | None:
    """Lock an active tutor's profile (step 5 of wemaster.ledger.locks) and read in the same query
    what booking checks: whether the tutor teaches anything (`teaches_any`), the id of the
    requested subject among the tutor's (`subject_id`, None if not taught), and the availability
    around [starts_at, ends_at) (`scheduling.availability_check` reads it). None: not a tutor."""
    taught = TutorProfile.subjects.through.objects.filter(tutorprofile_id=OuterRef("pk"))
    return (
        TutorProfile.objects.select_for_update(of=("self",), no_key=True)
        .filter(user_id=tutor_id, user__role=Role.TUTOR, user__is_active=True)
        .only("user_id", "hourly_rate", "currency", "timezone")
        .annotate(
            teaches_any=Exists(taught),
            subject_id=Subquery(taught.filter(subject__name=subject.strip().lower()).values("subject_id")[:1]),
            **availability_annotations(start=starts_at, end=ends_at),
        )
        .first()
    )


def _lock_lesson(*, lesson_id: int, actor) -> Lesson:
    """Lock a lesson the actor takes part in (`actor=None`: the system or staff): step 1 of the
    order in wemaster.ledger.locks. Only the lesson row (`of=("self",)`): the ledger locks its
    hold next, then the accounts. Raises NotFound."""
    lessons = Lesson.objects.select_for_update(of=("self",), no_key=True).select_related("hold")
    lesson = lessons.filter(pk=lesson_id).first()
    if lesson is None or (actor is not None and actor.id not in (lesson.student_id, lesson.tutor_id)):
        raise NotFound("Lesson not found.")
    return lesson


def _require_booked(lesson: Lesson) -> None:
    if lesson.status != LessonStatus.BOOKED:
        raise InvalidTransition(f"The lesson is already {lesson.status}.")


def _refuse_insider(*, staff, lesson: Lesson, detail: str | None = None) -> None:
    """Staff decide money only in cases they take no part in. Raises ConflictOfInterest."""
    if staff.id in (lesson.student_id, lesson.tutor_id):
        raise ConflictOfInterest(detail)


def problem_report_deadline(*, lesson: Lesson) -> datetime:
    """Until when the student may report a problem; the tutor's completion waits for it."""
    return lesson.ends_at + timedelta(hours=settings.LESSONS_PROBLEM_REPORT_WINDOW_HOURS)


def _charge(*, lesson: Lesson, gross: int, transfer_kind: str, earning_kind: str, minutes: int, at: datetime) -> int:
    """Capture `gross` of the lesson's pending hold (the rest is released) and split it as every
    charge is split: the commission at the tutor's tier (`earnings.commission_quote`) to platform
    revenue, the net to tutor pending, recorded as the tutor's earning. Returns the commission.
    Precondition: the lesson row is locked. Raises HoldAlreadyResolved."""
    percent, commission, net = earnings.commission_quote(tutor_id=lesson.tutor_id, gross=gross)
    pending = earnings.tutor_account(tutor_id=lesson.tutor_id, kind=AccountKind.TUTOR_PENDING, currency=lesson.currency)
    revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=lesson.currency)
    credits = [ledger.Leg(account.id, amount) for account, amount in ((pending, net), (revenue, commission)) if amount]
    ledger.hold_capture(hold=lesson.hold, kind=transfer_kind, reference=lesson.charge_reference, credits=credits)
    earnings.earning_record(
        tutor_id=lesson.tutor_id,
        student_id=lesson.student_id,
        subject_id=lesson.subject_id,
        lesson_id=lesson.pk,
        kind=earning_kind,
        minutes=minutes,
        currency=lesson.currency,
        gross=gross,
        commission=commission,
        net=net,
        commission_percent=percent,
        earned_at=at,
    )
    return commission


def _charge_lesson(*, lesson: Lesson, at: datetime) -> None:
    """Capture the whole price and mark the lesson completed. Precondition: the lesson row is locked."""
    lesson.commission = _charge(
        lesson=lesson,
        gross=lesson.price,
        transfer_kind=TransferKind.LESSON_CHARGE,
        earning_kind=EarningKind.LESSON,
        minutes=lesson.duration_minutes,
        at=at,
    )
    lesson.status = LessonStatus.COMPLETED
    lesson.completed_at = at


@retry_on_lock_conflict
@transaction.atomic
def lesson_complete(*, lesson_id: int, actor, at: datetime | None = None) -> Lesson:
    """Capture the hold of a lesson that has ended: the tutor's net to tutor pending, the
    commission (tier by lifetime hours) to platform revenue; record the tutor's earning.

    `actor` is the student (a confirmation: allowed as soon as the lesson has ended), the tutor
    or None (the auto-complete task); those two only once the problem-report window is over.
    Raises NotFound, InvalidTransition, LessonNotEnded, ReportWindowOpen.
    """
    at = at or timezone.now()
    lesson = _lock_lesson(lesson_id=lesson_id, actor=actor)
    _require_booked(lesson)
    if at < lesson.ends_at:
        raise LessonNotEnded(f"The lesson ends at {_when(lesson.ends_at)}; it can be completed after that.")
    report_until = problem_report_deadline(lesson=lesson)
    if (actor is None or actor.id != lesson.student_id) and at < report_until:
        raise ReportWindowOpen(
            f"The student may report a problem until {_when(report_until)}; the lesson completes automatically then."
        )
    _charge_lesson(lesson=lesson, at=at)
    lesson.save(update_fields=["status", "commission", "completed_at", "updated_at"])
    notify.lesson_completed(lesson=lesson, actor=actor)
    return lesson


def late_cancellation_fee(*, lesson: Lesson, actor, at: datetime) -> int:
    """What the student pays for cancelling: nothing before the cut-off
    (LESSONS_FREE_CANCELLATION_HOURS before the start) or when the tutor cancels; after it,
    LESSONS_LATE_CANCELLATION_TUTOR_SHARE_PERCENT of the price, rounded half up."""
    cutoff = lesson.starts_at - timedelta(hours=settings.LESSONS_FREE_CANCELLATION_HOURS)
    if at < cutoff or (actor is not None and actor.id == lesson.tutor_id):
        return 0
    return (lesson.price * settings.LESSONS_LATE_CANCELLATION_TUTOR_SHARE_PERCENT + 50) // 100


@retry_on_lock_conflict
@transaction.atomic
def lesson_cancel(*, lesson_id: int, actor, at: datetime | None = None) -> Lesson:
    """Cancel a lesson that has not started: void the hold, or, for a late cancellation by the
    student, capture the fee and release the rest. The fee is charged like a lesson: commission
    at the tutor's tier to platform revenue, the net to tutor pending (a cancellation-fee
    earning), so a late cancellation is never a commission-free way to pay the tutor.
    Raises NotFound, InvalidTransition, LessonStarted.
    """
    at = at or timezone.now()
    lesson = _lock_lesson(lesson_id=lesson_id, actor=actor)
    _require_booked(lesson)
    if at >= lesson.starts_at:
        raise LessonStarted(f"The lesson started at {_when(lesson.starts_at)}; it can no longer be cancelled.")
    fee = late_cancellation_fee(lesson=lesson, actor=actor, at=at)
    if fee:
        lesson.commission = _charge(
            lesson=lesson,
            gross=fee,
            transfer_kind=TransferKind.LESSON_CANCELLATION_FEE,
            earning_kind=EarningKind.CANCELLATION_FEE,
            minutes=0,
            at=at,
        )
    else:
        ledger.hold_void(hold=lesson.hold)
    lesson.status = LessonStatus.CANCELLED
    scheduling.tutor_slots_changed(tutor_id=lesson.tutor_id)
    lesson.cancellation_fee = fee
    lesson.cancelled_at = at
    lesson.save(update_fields=["status", "commission", "cancellation_fee", "cancelled_at", "updated_at"])
    notify.lesson_cancelled(lesson=lesson, actor=actor)
    return lesson


@retry_on_lock_conflict
@transaction.atomic
def lesson_report_problem(*, lesson_id: int, student, reason: str, at: datetime | None = None) -> Lesson:
    """The student reports a problem with a lesson that has ended, before
    LESSONS_PROBLEM_REPORT_WINDOW_HOURS after its end: the lesson becomes `disputed` and its hold
    stays pending (neither the tutor nor the auto-completion can capture it) until staff
    resolve it with `lesson_dispute_resolve`.

    Raises ValidationFailed (blank reason), NotFound, OnlyStudentsReport (the tutor),
    InvalidTransition (not booked), LessonNotEnded, ReportWindowClosed.
    """
    at = at or timezone.now()
    reason = reason.strip()
    if not reason:
        raise ValidationFailed(fields={"reason": ["Describe the problem."]})
    lesson = _lock_lesson(lesson_id=lesson_id, actor=student)
    if student.id != lesson.student_id:
        raise OnlyStudentsReport()
    _require_booked(lesson)
    if at < lesson.ends_at:
        raise LessonNotEnded(f"The lesson ends at {_when(lesson.ends_at)}; a problem can be reported after that.")
    report_until = problem_report_deadline(lesson=lesson)
    if at >= report_until:
        raise ReportWindowClosed(f"Problems with this lesson could be reported until {_when(report_until)}.")
    lesson.status = LessonStatus.DISPUTED
    lesson.problem_reason = reason
    lesson.reported_at = at
    lesson.save(update_fields=["status", "problem_reason", "reported_at", "updated_at"])
    notify.lesson_problem_reported(lesson=lesson)
    return lesson


@retry_on_lock_conflict
@transaction.atomic
def lesson_dispute_resolve(
    *, lesson_id: int, staff, outcome: str, note: str = "", at: datetime | None = None
) -> Lesson:
    """Staff decide a disputed lesson, once. `complete` captures the hold exactly as a completion
    does (tutor net + commission; the lesson becomes `completed`); `refund` voids it, the student
    pays nothing (the lesson becomes `cancelled`). The outcome, note, staff user and time are
    recorded on the lesson.

    Raises ValidationFailed (unknown outcome), StaffOnly, NotFound, ConflictOfInterest (the staff
    user is the lesson's student or tutor; nothing changes), InvalidTransition (not disputed).
    """
    if outcome not in DisputeOutcome.values:
        raise ValidationFailed(fields={"outcome": [f"One of: {', '.join(DisputeOutcome.values)}."]})
    if not staff.is_staff:
        raise StaffOnly()
    at = at or timezone.now()
    lesson = _lock_lesson(lesson_id=lesson_id, actor=None)
    _refuse_insider(
        staff=staff, lesson=lesson, detail="You take part in this lesson; another staff member must resolve it."
    )
    if lesson.status != LessonStatus.DISPUTED:
        raise InvalidTransition(f"Only a disputed lesson can be resolved; this one is {lesson.status}.")
    if outcome == DisputeOutcome.COMPLETE:
        _charge_lesson(lesson=lesson, at=at)
    else:
        ledger.hold_void(hold=lesson.hold)
        lesson.status = LessonStatus.CANCELLED
        lesson.cancelled_at = at
        scheduling.tutor_slots_changed(tutor_id=lesson.tutor_id)
    lesson.resolution = outcome
    lesson.resolution_note = note.strip()
    lesson.resolved_by = staff
    lesson.resolved_at = at
    lesson.save()
    return lesson


def lessons_auto_complete(*, now: datetime | None = None, batch_size: int | None = None) -> int:
    """Complete booked lessons whose problem-report window has closed: ended at least
    max(LESSONS_PROBLEM_REPORT_WINDOW_HOURS, LESSONS_AUTO_COMPLETE_AFTER_HOURS) ago. Disputed
    lessons wait for staff. One transaction per lesson (each retried on lock conflicts); a
    lesson that still fails (a domain error, a conflict that outlasted the retries) is logged
    and left for the next run, and the batch goes on. Returns how many were completed."""
    now = now or timezone.now()
    delay = max(settings.LESSONS_PROBLEM_REPORT_WINDOW_HOURS, settings.LESSONS_AUTO_COMPLETE_AFTER_HOURS)
    due = list(
        Lesson.objects.filter(status=LessonStatus.BOOKED, ends_at__lte=now - timedelta(hours=delay))
        .order_by("id")
        .values_list("id", flat=True)[: batch_size or settings.LESSONS_AUTO_COMPLETE_BATCH_SIZE]
    )
    completed = 0
    for lesson_id in due:
        try:
            lesson_complete(lesson_id=lesson_id, actor=None, at=now)
        except InvalidTransition:
            continue  # completed, cancelled or disputed since the list was read
        except DomainError as exc:
            logger.warning(
                "lesson auto-completion failed", extra={"lesson": lesson_id, "code": exc.code, "detail": exc.detail}
            )
            continue
        completed += 1
    return completed


# --- refund requests (the wallet's refunds of lesson charges) ------------------------------------


@retry_on_lock_conflict
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
            refund = RefundRequest.objects.create(
                lesson=lesson, student=student, reason=reason.strip(), amount=lesson.price, currency=lesson.currency
            )
    except IntegrityError as exc:
        raise RefundAlreadyRequested() from exc
    notify.refund_requested(refund=refund)
    return refund


def _lock_refund_for_decision(*, refund_request_id: int, staff) -> tuple[RefundRequest, Lesson]:
    """Lock the lesson, then its refund request (the one lock order: lesson before request), refuse
    a staff member who is the lesson's student or tutor, and check the request is still pending.

    Raises NotFound, ConflictOfInterest, RefundAlreadyDecided.
    """
    lesson_id = RefundRequest.objects.filter(pk=refund_request_id).values_list("lesson_id", flat=True).first()
    if lesson_id is None:
        raise NotFound("Refund request not found.")
    lesson = Lesson.objects.select_for_update(no_key=True).get(pk=lesson_id)
    refund = RefundRequest.objects.select_for_update(no_key=True).get(pk=refund_request_id)
    _refuse_insider(staff=staff, lesson=lesson)
    if refund.status != RefundStatus.PENDING:
        raise RefundAlreadyDecided(f"This refund request was already {refund.status}.")
    return refund, lesson


@retry_on_lock_conflict
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
    Locks, in the one order: lesson, request, earning, the lesson's review and the tutor profile
    (a refunded lesson's review is hidden and the tutor's rating follows), then every account of
    the transfer at once. The earning is marked refunded and `staff` recorded as the decider.
    Raises NotFound, ConflictOfInterest (staff is the lesson's student or tutor), RefundAlreadyDecided.
    """
    at = at or timezone.now()
    refund, lesson = _lock_refund_for_decision(refund_request_id=refund_request_id, staff=staff)
    earning = earnings.earning_lock_for_refund(lesson_id=lesson.pk)
    review_hide_for_refund(lesson_id=lesson.pk, at=at)
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
    notify.refund_decided(refund=refund, lesson=lesson)
    return refund


@retry_on_lock_conflict
@transaction.atomic
def refund_request_reject(*, refund_request_id: int, staff, at: datetime | None = None) -> RefundRequest:
    """Refuse a pending refund; no money moves; `staff` is recorded as the decider.

    Raises NotFound, ConflictOfInterest (staff is the lesson's student or tutor), RefundAlreadyDecided.
    """
    refund, lesson = _lock_refund_for_decision(refund_request_id=refund_request_id, staff=staff)
    refund.status = RefundStatus.REJECTED
    refund.decided_by = staff
    refund.decided_at = at or timezone.now()
    refund.save(update_fields=["status", "decided_by", "decided_at"])
    notify.refund_decided(refund=refund, lesson=lesson)
    return refund

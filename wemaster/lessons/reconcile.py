"""Lesson money invariants, run by `manage.py reconcile`."""

from django.db.models import Case, F, Q, Sum, When
from django.db.models.functions import Coalesce

from wemaster.ledger.models import AccountKind
from wemaster.lessons.models import Lesson, LessonStatus


def lesson_charge_splits() -> list[str]:
    """Each charged lesson debited the student exactly its charge (the price of a completed
    lesson, the fee of a late-cancelled one) and credited the platform exactly its commission
    (the tutor got the rest: the transfer balances). A cancellation without a fee charged
    nothing."""
    entries = "hold__transfer__entries"
    charge = Case(When(status=LessonStatus.COMPLETED, then=F("price")), default=F("cancellation_fee"))
    bad = (
        Lesson.objects.filter(status__in=[LessonStatus.COMPLETED, LessonStatus.CANCELLED])
        .annotate(
            charge=charge,
            debited=Coalesce(Sum(f"{entries}__amount", filter=Q(**{f"{entries}__amount__lt": 0})), 0),
            commission_credited=Coalesce(
                Sum(
                    f"{entries}__amount",
                    filter=Q(**{f"{entries}__account__kind": AccountKind.PLATFORM_REVENUE}),
                ),
                0,
            ),
        )
        .exclude(debited=-F("charge"), commission_credited=F("commission"))
        .values_list("id", "charge", "debited", "commission", "commission_credited")
    )
    return [
        f"lesson {lesson_id}: charge {charge} but debited {-debited}; "
        f"commission {commission} but platform got {credited}"
        for lesson_id, charge, debited, commission, credited in bad
    ]


def lesson_holds_match_status() -> list[str]:
    """Booked and disputed lessons hold their price; resolved ones have no pending hold."""
    unresolved = [LessonStatus.BOOKED, LessonStatus.DISPUTED]
    bad = Lesson.objects.filter(
        Q(status__in=unresolved, hold__status__in=["posted", "voided"])
        | Q(status__in=[LessonStatus.COMPLETED, LessonStatus.CANCELLED], hold__status="pending")
        | ~Q(hold__amount=F("price"))
    ).values_list("id", "status")
    return [f"lesson {lesson_id} is {status} but its hold disagrees" for lesson_id, status in bad]


CHECKS = [lesson_charge_splits, lesson_holds_match_status]

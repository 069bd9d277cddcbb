"""Lesson money invariants, run by `manage.py reconcile`."""

from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce

from wemaster.ledger.models import AccountKind
from wemaster.lessons.models import Lesson, LessonStatus


def completed_lesson_charge_splits() -> list[str]:
    """Each completed lesson's charge debited the student exactly its price and credited the
    platform exactly its commission (the tutor got the rest: the transfer balances)."""
    entries = "hold__transfer__entries"
    bad = (
        Lesson.objects.filter(status=LessonStatus.COMPLETED)
        .annotate(
            debited=Coalesce(Sum(f"{entries}__amount", filter=Q(**{f"{entries}__amount__lt": 0})), 0),
            commission_credited=Coalesce(
                Sum(
                    f"{entries}__amount",
                    filter=Q(**{f"{entries}__account__kind": AccountKind.PLATFORM_REVENUE}),
                ),
                0,
            ),
        )
        .exclude(debited=-F("price"), commission_credited=F("commission"))
        .values_list("id", "price", "debited", "commission", "commission_credited")
    )
    return [
        f"lesson {lesson_id}: price {price} but debited {-debited}; commission {commission} but platform got {credited}"
        for lesson_id, price, debited, commission, credited in bad
    ]


def lesson_holds_match_status() -> list[str]:
    """Booked lessons hold their price; resolved ones have no pending hold."""
    bad = Lesson.objects.filter(
        Q(status=LessonStatus.BOOKED, hold__status__in=["posted", "voided"])
        | Q(status__in=[LessonStatus.COMPLETED, LessonStatus.CANCELLED], hold__status="pending")
        | ~Q(hold__amount=F("price"))
    ).values_list("id", "status")
    return [f"lesson {lesson_id} is {status} but its hold disagrees" for lesson_id, status in bad]


CHECKS = [completed_lesson_charge_splits, lesson_holds_match_status]

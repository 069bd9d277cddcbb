"""Staff resolve disputed lessons: `complete` captures like a completion, `refund` voids the hold;
staff who take part in the lesson cannot decide it (403 `conflict_of_interest`)."""

import pytest
from django.conf import settings
from django.contrib.admin.sites import site
from django.test import RequestFactory

from earnings.models import Earning, EarningKind
from tests.accounts.factories import StudentFactory
from tests.ledger.factories import funded_wallet
from tests.lessons.factories import ended_lesson, past, tutor_teaching
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, HoldStatus, Transfer, TransferKind
from wemaster.ledger.reconcile import find_discrepancies
from wemaster.lessons import services
from wemaster.lessons.errors import ConflictOfInterest, StaffOnly
from wemaster.lessons.models import Lesson, LessonStatus

USD = settings.CURRENCY


@pytest.fixture
def staff(db):
    return StudentFactory(is_staff=True)


def disputed(student=None, tutor=None, *, price: int = 4_050, starts_hours_ago: float = 3) -> Lesson:
    student = student or StudentFactory()
    tutor = tutor or tutor_teaching(hourly_rate=price)
    funded_wallet(student, 10_000)
    lesson = ended_lesson(student=student, tutor=tutor, starts_at=past(hours=starts_hours_ago))
    return services.lesson_report_problem(lesson_id=lesson.pk, student=student, reason="The tutor left after 5 min.")


def money(lesson) -> tuple[int, int, int, int]:
    """(wallet balance, wallet held, tutor pending, platform revenue)."""
    wallet = ledger.student_wallet_account(student=lesson.student, currency=USD)
    pending = ledger.account_for(kind=AccountKind.TUTOR_PENDING, currency=USD, owner=lesson.tutor)
    revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=USD)
    return wallet.balance, wallet.held, pending.balance, revenue.balance


def resolve(client, lesson, outcome, note="", **headers):
    return client.post(f"/api/v1/lessons/{lesson.pk}/resolve", {"outcome": outcome, "note": note}, **headers)


@pytest.mark.django_db
def test_resolving_as_complete_captures_exactly_like_a_completion(client_for, staff):
    lesson = disputed(price=4_050)  # 40.50: commission 25 % = 10.125 -> 10.13, net 30.37
    response = resolve(client_for(staff), lesson, "complete", note="Recording shows the full lesson.")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["resolution"], body["commission"]) == ("completed", "complete", "10.13")
    assert body["resolved_at"] is not None
    assert money(lesson) == (10_000 - 4_050, 0, 3_037, 1_013)
    earning = Earning.objects.get(lesson_id=lesson.pk)
    assert (earning.kind, earning.gross, earning.commission, earning.net) == (EarningKind.LESSON, 4_050, 1_013, 3_037)
    lesson.refresh_from_db()
    assert (lesson.resolved_by, lesson.resolution_note) == (staff, "Recording shows the full lesson.")
    assert lesson.completed_at == lesson.resolved_at
    assert Transfer.objects.get(reference=lesson.charge_reference).kind == TransferKind.LESSON_CHARGE
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_resolving_as_refund_releases_the_hold_and_the_student_pays_nothing(client_for, staff):
    lesson = disputed()
    response = resolve(client_for(staff), lesson, "refund")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["resolution"]) == ("cancelled", "refund")
    assert money(lesson) == (10_000, 0, 0, 0)
    lesson.refresh_from_db()
    assert (lesson.hold.status, lesson.cancellation_fee, lesson.resolved_by) == (HoldStatus.VOIDED, 0, staff)
    assert not Earning.objects.filter(lesson_id=lesson.pk).exists()
    assert not Transfer.objects.filter(reference=lesson.charge_reference).exists()
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_a_dispute_is_resolved_once_and_only_a_dispute(client_for, staff):
    lesson = disputed()
    client = client_for(staff)
    assert resolve(client, lesson, "refund").status_code == 200
    for outcome in ("complete", "refund"):
        again = resolve(client, lesson, outcome)
        assert (again.status_code, again.json()["code"]) == (409, "invalid_transition")
    assert money(lesson) == (10_000, 0, 0, 0)
    student = StudentFactory()
    funded_wallet(student, 10_000)
    booked = ended_lesson(student=student, tutor=tutor_teaching())
    response = resolve(client, booked, "complete")
    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")
    assert money(booked) == (10_000, 4_000, 0, 0)


@pytest.mark.django_db
def test_staff_who_is_the_student_or_the_tutor_gets_403_and_nothing_changes(client_for):
    staff_student = StudentFactory(is_staff=True)
    staff_tutor = tutor_teaching()
    staff_tutor.is_staff = True
    staff_tutor.save(update_fields=["is_staff"])
    for lesson, staff in ((disputed(student=staff_student), staff_student), (disputed(tutor=staff_tutor), staff_tutor)):
        before = money(lesson)
        response = resolve(client_for(staff), lesson, "complete")
        assert (response.status_code, response.json()["code"]) == (403, "conflict_of_interest")
        lesson.refresh_from_db()
        assert (lesson.status, lesson.resolved_by, lesson.resolved_at, lesson.resolution) == (
            LessonStatus.DISPUTED,
            None,
            None,
            "",
        )
        assert lesson.hold.status == HoldStatus.PENDING and money(lesson) == before
        with pytest.raises(ConflictOfInterest):
            services.lesson_dispute_resolve(lesson_id=lesson.pk, staff=staff, outcome="refund")
    assert find_discrepancies() == []


@pytest.mark.django_db
def test_only_staff_resolve_and_the_outcome_is_checked(client_for, staff):
    lesson = disputed()
    for user in (lesson.student, lesson.tutor):
        assert resolve(client_for(user), lesson, "refund").status_code == 403
        with pytest.raises(StaffOnly):
            services.lesson_dispute_resolve(lesson_id=lesson.pk, staff=user, outcome="refund")
    response = resolve(client_for(staff), lesson, "half")
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert resolve(client_for(staff), Lesson(pk=lesson.pk + 1000), "refund").status_code == 404
    lesson.refresh_from_db()
    assert lesson.status == LessonStatus.DISPUTED


@pytest.mark.django_db
def test_resolving_with_an_idempotency_key_replays_the_first_answer(client_for, staff):
    lesson = disputed()
    client = client_for(staff)
    first = resolve(client, lesson, "complete", HTTP_IDEMPOTENCY_KEY="resolve-1")
    again = resolve(client, lesson, "complete", HTTP_IDEMPOTENCY_KEY="resolve-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Transfer.objects.filter(reference=lesson.charge_reference).count() == 1


@pytest.mark.django_db
def test_admin_actions_resolve_through_the_service(staff):
    to_complete, to_refund = disputed(), disputed()
    own = disputed(student=staff)
    model_admin = site._registry[Lesson]
    request = RequestFactory().post("/admin/")
    request.user = staff
    notes = []
    request._messages = type(
        "Messages", (), {"add": lambda self, level, message, extra_tags="": notes.append(message)}
    )()
    model_admin.resolve_complete(request, Lesson.objects.filter(pk__in=[to_complete.pk, own.pk]))
    model_admin.resolve_refund(request, Lesson.objects.filter(pk=to_refund.pk))
    statuses = dict(Lesson.objects.values_list("pk", "status"))
    assert statuses == {
        to_complete.pk: LessonStatus.COMPLETED,
        to_refund.pk: LessonStatus.CANCELLED,
        own.pk: LessonStatus.DISPUTED,
    }
    assert any(f"Lesson {own.pk}:" in note and "take part" in note for note in notes)
    assert Lesson.objects.get(pk=to_complete.pk).resolved_by == staff
    assert find_discrepancies() == []

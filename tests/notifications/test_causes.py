"""Each cause notifies the right person once, in its own transaction: never for a rolled-back or
refused action, never the person who acted."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction

from community import services as community
from earnings import services as earnings
from messaging import services as messaging
from messaging.models import Event
from tests.accounts.factories import StudentFactory
from tests.earnings.conftest import fail_payout, fund_available
from tests.lessons.factories import book, completed_lesson, ended_lesson, future, tutor_teaching
from tests.wallet.factories import PaymentMethodFactory, funded, wallet_for
from wallet import services as wallet_services
from wemaster.ledger import services as ledger
from wemaster.lessons import services as lessons
from wemaster.lessons.errors import SlotTaken
from wemaster.notifications import notify
from wemaster.notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db


def kinds_of(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("id").values_list("kind", flat=True))


def test_a_booking_notifies_the_tutor_exactly_once_with_an_event(pair, django_capture_on_commit_callbacks):
    student, tutor = pair
    with django_capture_on_commit_callbacks() as callbacks:
        lesson = book(student=student, tutor=tutor)
        notify.lesson_booked(lesson=lesson)  # the same cause reported again inserts nothing
    assert kinds_of(tutor) == [NotificationKind.LESSON_BOOKED]
    assert kinds_of(student) == []
    notification = Notification.objects.get(recipient=tutor)
    assert notification.payload["lesson"] == lesson.id
    event = Event.objects.get(user=tutor, type="notification.created")
    assert event.payload["notification"]["id"] == notification.id
    publications = [c for c in callbacks if "events_publish_on_commit" in c.__qualname__]
    assert len(publications) == 1  # one event sent, on commit


def test_a_rolled_back_booking_notifies_nobody(pair, django_capture_on_commit_callbacks):
    student, tutor = pair
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        with transaction.atomic():
            book(student=student, tutor=tutor)
            raise RuntimeError("the request failed after the booking")
    assert Notification.objects.count() == 0
    assert not Event.objects.filter(type="notification.created").exists()
    assert callbacks == []


def test_a_refused_booking_notifies_nobody(pair):
    student, tutor = pair
    starts_at = future()
    book(student=student, tutor=tutor, starts_at=starts_at)
    with pytest.raises(SlotTaken):
        book(student=StudentFactory(), tutor=tutor, starts_at=starts_at)
    assert kinds_of(tutor) == [NotificationKind.LESSON_BOOKED]


def test_a_cancellation_notifies_the_other_party_only(pair):
    student, tutor = pair
    by_student = book(student=student, tutor=tutor, starts_at=future(hours=48))
    by_tutor = book(student=student, tutor=tutor, starts_at=future(hours=72))
    lessons.lesson_cancel(lesson_id=by_student.id, actor=student)
    lessons.lesson_cancel(lesson_id=by_tutor.id, actor=tutor)
    tutors = Notification.objects.get(recipient=tutor, kind=NotificationKind.LESSON_CANCELLED)
    students = Notification.objects.get(recipient=student, kind=NotificationKind.LESSON_CANCELLED)
    assert (tutors.payload["lesson"], tutors.payload["by"]) == (by_student.id, "student")
    assert (students.payload["lesson"], students.payload["by"]) == (by_tutor.id, "tutor")


def test_completion_problem_and_refund_reach_the_right_party(pair):
    student, tutor = pair
    window = timedelta(hours=settings.LESSONS_PROBLEM_REPORT_WINDOW_HOURS)
    confirmed = completed_lesson(student=student, tutor=tutor)  # the student's own act: not told
    assert kinds_of(student) == []
    by_tutor = ended_lesson(student=student, tutor=tutor, starts_at=future(hours=-30))
    lessons.lesson_complete(lesson_id=by_tutor.id, actor=tutor, at=by_tutor.ends_at + window)
    assert kinds_of(student) == [NotificationKind.LESSON_COMPLETED]
    disputed = ended_lesson(student=student, tutor=tutor, starts_at=future(hours=-5))
    lessons.lesson_report_problem(lesson_id=disputed.id, student=student, reason="no show")
    refund = lessons.refund_request_create(student=student, lesson_id=confirmed.id, reason="bad audio")
    staff = StudentFactory(is_staff=True)
    lessons.refund_request_reject(refund_request_id=refund.id, staff=staff)
    assert NotificationKind.LESSON_PROBLEM_REPORTED in kinds_of(tutor)
    assert NotificationKind.REFUND_REQUESTED in kinds_of(tutor)
    decided = Notification.objects.get(recipient=student, kind=NotificationKind.REFUND_DECIDED)
    assert decided.payload["status"] == "rejected"


def test_payouts_paid_and_failed_notify_the_tutor(django_capture_on_commit_callbacks):
    tutor = tutor_teaching()
    fund_available(tutor, 10_000)
    method = earnings.payout_method_add(tutor=tutor, token="btok_ok")
    with django_capture_on_commit_callbacks(execute=True):
        earnings.withdrawal_request(tutor=tutor, amount=2_000, payout_method_id=method.pk)
    second = earnings.withdrawal_request(tutor=tutor, amount=3_000, payout_method_id=method.pk)
    fail_payout(second.id)
    assert kinds_of(tutor) == [NotificationKind.PAYOUT_PAID, NotificationKind.PAYOUT_FAILED]


def test_auto_reload_failures_and_the_switch_off_notify_the_student(django_capture_on_commit_callbacks):
    wallet = wallet_for(StudentFactory())
    funded(wallet, 10_000)
    PaymentMethodFactory(wallet=wallet, gateway_token="tok_chargeCustomerFail")
    wallet_services.auto_reload_configure(
        wallet=wallet, enabled=True, threshold=2_000, amount=3_000, monthly_cap=100_000
    )
    for index in range(3):  # each debit leaves the wallet under the threshold: a reload, declined
        with django_capture_on_commit_callbacks(execute=True):
            ledger.hold_create(account=wallet.account, amount=500 if index else 8_500, reference=f"spend:{index}")
    assert kinds_of(wallet.student) == [NotificationKind.AUTO_RELOAD_FAILED] * 3 + [
        NotificationKind.AUTO_RELOAD_DISABLED
    ]


def test_replies_and_accepted_answers_notify_the_author_but_not_for_their_own_acts():
    author, answerer = StudentFactory(), StudentFactory()
    question = community.post_create(author=author, title="Limits?", body="How?", kind="question")
    community.comment_create(post_id=question.id, author=author, body="Some context.")
    answer = community.comment_create(post_id=question.id, author=answerer, body="Like this.")
    community.answer_accept(post_id=question.id, actor=author, comment_id=answer.id)
    community.answer_accept(post_id=question.id, actor=author, comment_id=answer.id)  # the same cause again
    assert kinds_of(author) == [NotificationKind.POST_REPLY]
    assert kinds_of(answerer) == [NotificationKind.ANSWER_ACCEPTED]
    assert Notification.objects.get(recipient=author).payload["title"] == "Limits?"


def test_messages_to_offline_members_of_a_group_notify_each_once_per_window():
    alice, bob, carol = StudentFactory(), StudentFactory(), StudentFactory()
    group, _ = messaging.conversation_create(creator=alice, participant_ids=[bob.id, carol.id], title="Study")
    first, _ = messaging.message_send(sender=alice, conversation_id=group.id, body="first")
    messaging.message_send(sender=alice, conversation_id=group.id, body="second")
    rows = Notification.objects.filter(kind=NotificationKind.MESSAGES)
    assert sorted(rows.values_list("recipient_id", flat=True)) == sorted([bob.id, carol.id])
    assert {row.cause_key for row in rows} == {f"conv:{group.id}:{notify.message_window(first.created_at)}"}

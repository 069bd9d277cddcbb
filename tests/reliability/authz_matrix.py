"""Who may do what to which object, for every /api/v1/ route (by URL name).

A route missing here fails `test_every_route_has_an_entry`: a new endpoint must say who may
call it before it ships. For routes with an object id, every method is either `private`
(another user gets 404 and nothing changes) or `shared` (with the reason another user may act).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from community import services as community
from earnings import services as earnings
from messaging import services as messaging
from tests.accounts.factories import StudentFactory
from tests.lessons.factories import SUBJECT, book, completed_lesson, tutor_teaching
from wallet import selectors as wallet_selectors
from wallet import services as wallet
from wemaster.accounts.services import subjects_resolve
from wemaster.accounts.sessions import token_create
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, TransferKind
from wemaster.lessons import services as lessons
from wemaster.notifications import services as notifications
from wemaster.reviews import services as reviews

ANYONE = frozenset({"student", "tutor", "staff"})
TUTORS = frozenset({"tutor"})
STUDENTS = frozenset({"student"})  # staff have a role of their own: no wallet
STAFF = frozenset({"staff"})


@dataclass
class Entry:
    roles: frozenset = ANYONE  # authenticated roles that may call; others get 403
    public: frozenset = frozenset()  # methods anonymous callers may use
    owner_role: str = "student"
    setup: Callable | None = None  # setup(owner) -> url kwargs of the owner's object
    private: dict = field(default_factory=dict)  # method -> body sent by the intruder
    shared: dict = field(default_factory=dict)  # method -> why another user may act
    own_rows: Callable | None = None  # own_rows(owner) -> ids the owner's list shows, nobody else's


def _token(owner):
    return {"pk": token_create(user=owner, name="owner's phone")[0].pk}


def _tokens_of(owner):
    return {_token(owner)["pk"]}


def _post(owner):
    return {"post_id": community.post_create(author=owner, title="Owner's post", body="Body text.").id}


def _question(owner):
    post = community.post_create(author=owner, title="Owner's question", body="Body text.", kind="question")
    return {"post_id": post.id}


def _comment(owner):
    post = community.post_create(author=owner, title="Post", body="Body.")
    comment = community.comment_create(post_id=post.id, author=owner, body="Owner's comment")
    return {"post_id": post.id, "comment_id": comment.id}


def _comment_only(owner):
    return {"comment_id": _comment(owner)["comment_id"]}


def _conversation(owner):
    conversation, _ = messaging.conversation_create(creator=owner, participant_ids=[StudentFactory().id])
    return {"conversation_id": conversation.id}


def _message(owner):
    kwargs = _conversation(owner)
    message, _ = messaging.message_send(sender=owner, conversation_id=kwargs["conversation_id"], body="Owner's message")
    return {**kwargs, "message_id": message.id}


def _notifications_of(owner):
    notification = notifications.notification_create(
        recipient_id=owner.id,
        kind="payout_paid",
        cause_key=f"matrix:{uuid.uuid4().hex}",
        payload={"withdrawal": 1, "amount": 2_000, "currency": settings.CURRENCY},
    )
    return {notification.id}


def _conversations_of(owner):
    return {_conversation(owner)["conversation_id"]}


def fund(account, amount: int, reference: str) -> None:
    external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=settings.CURRENCY)
    ledger.transfer(
        kind=TransferKind.ADJUSTMENT,
        reference=reference,
        currency=settings.CURRENCY,
        legs=[ledger.Leg(external.id, -amount), ledger.Leg(account.id, amount)],
    )


def _funded(student):
    wallet = ledger.student_wallet_account(student=student, currency=settings.CURRENCY)
    fund(wallet, 100_000, f"matrix-wallet:{student.id}")
    return student


def _lesson(owner):
    return {"pk": book(student=_funded(owner), tutor=tutor_teaching()).pk}


def _lessons_of(owner):
    return {_lesson(owner)["pk"]}


def _refund(owner):
    lesson = completed_lesson(student=_funded(owner), tutor=tutor_teaching())
    return {"pk": lessons.refund_request_create(student=owner, lesson_id=lesson.pk, reason="No show").pk}


def _refunds_of(owner):
    return {_refund(owner)["pk"]}


def _completed(owner):
    return {"pk": completed_lesson(student=_funded(owner), tutor=tutor_teaching()).pk}


def _review(owner):
    lesson = completed_lesson(student=_funded(owner), tutor=tutor_teaching())
    return {"pk": reviews.review_create(student=owner, lesson_id=lesson.pk, rating=4, text="Owner's review").pk}


def _review_of_lesson_taught(tutor):
    tutor.tutor_profile.subjects.set(subjects_resolve([SUBJECT]))
    student = _funded(StudentFactory())
    lesson = completed_lesson(student=student, tutor=tutor)
    return {"pk": reviews.review_create(student=student, lesson_id=lesson.pk, rating=5, text="Great").pk}


def _earning(tutor):
    tutor.tutor_profile.subjects.set(subjects_resolve([SUBJECT]))
    lesson = completed_lesson(student=_funded(StudentFactory()), tutor=tutor)
    return {"pk": earnings.Earning.objects.get(lesson_id=lesson.pk).pk}


def _earnings_of(tutor):
    return {_earning(tutor)["pk"]}


def _tutor_profile(tutor):
    return {"pk": tutor.id}


def _payout_method(tutor):
    return {"pk": earnings.payout_method_add(tutor=tutor, token="btok_ok").pk}


def _refund_on_lesson_taught(tutor):
    tutor.tutor_profile.subjects.set(subjects_resolve([SUBJECT]))
    student = _funded(StudentFactory())
    lesson = completed_lesson(student=student, tutor=tutor)
    return {"pk": lessons.refund_request_create(student=student, lesson_id=lesson.pk, reason="No show").pk}


def _refunds_on_lessons_taught(tutor):
    return {_refund_on_lesson_taught(tutor)["pk"]}


def _payout_methods_of(tutor):
    return {earnings.payout_method_add(tutor=tutor, token="btok_ok").pk}


def _withdrawal(tutor):
    method = earnings.payout_method_add(tutor=tutor, token="btok_ok")
    fund(earnings.tutor_account(tutor_id=tutor.id, kind=AccountKind.TUTOR_AVAILABLE), 10_000, f"matrix:{tutor.id}")
    return {"pk": earnings.withdrawal_request(tutor=tutor, amount=5_000, payout_method_id=method.pk).pk}


def _withdrawals_of(tutor):
    return {_withdrawal(tutor)["pk"]}


def _payment_method(owner):
    method = wallet.payment_method_add(wallet=wallet.wallet_ensure(student=owner), token="tok_visa")
    return {"payment_method_id": method.pk}


def _payment_methods_of(owner):
    return {_payment_method(owner)["payment_method_id"]}


def _transaction(owner):
    method = _payment_method(owner)["payment_method_id"]
    wallet.top_up_create(wallet=wallet.wallet_ensure(student=owner), amount=5_000, payment_method_id=method)
    return {"transaction_id": wallet_selectors.wallet_transactions(student_id=owner.id).first().id}


def _transactions_of(owner):
    return {_transaction(owner)["transaction_id"]}


def _top_up(owner):
    method = _payment_method(owner)["payment_method_id"]
    top_up = wallet.top_up_create(wallet=wallet.wallet_ensure(student=owner), amount=5_000, payment_method_id=method)
    return {"top_up_id": top_up.pk}


def _top_ups_of(owner):
    return {_top_up(owner)["top_up_id"]}


MATRIX: dict[str, Entry] = {
    # --- framework, accounts ---
    "ping": Entry(public=frozenset({"get"})),
    "auth-register": Entry(public=frozenset({"post"})),
    "auth-token": Entry(public=frozenset({"post"})),
    "auth-logout": Entry(),
    "auth-tokens": Entry(own_rows=_tokens_of),
    "auth-token-detail": Entry(setup=_token, private={"delete": None}),
    "auth-password": Entry(),
    "auth-password-reset": Entry(public=frozenset({"post"})),
    "auth-password-reset-confirm": Entry(public=frozenset({"post"})),
    "me": Entry(),
    "tutor-list": Entry(public=frozenset({"get"})),
    "tutor-detail": Entry(
        public=frozenset({"get"}), owner_role="tutor", setup=_tutor_profile, shared={"get": "tutor profiles are public"}
    ),
    "subject-list": Entry(public=frozenset({"get"})),
    # --- scheduling: a tutor's own availability; anyone reads a listed tutor's free slots ---
    "me-availability": Entry(roles=TUTORS, owner_role="tutor"),
    "tutor-slots": Entry(
        public=frozenset({"get"}), owner_role="tutor", setup=_tutor_profile, shared={"get": "free slots are public"}
    ),
    # --- community: reads are public, writes need a token; changes are the author's ---
    "community-posts": Entry(public=frozenset({"get"})),
    "community-post": Entry(
        public=frozenset({"get"}),
        setup=_post,
        private={"patch": {"title": "Taken over"}, "delete": None},
        shared={"get": "posts are public"},
    ),
    "community-comments": Entry(
        public=frozenset({"get"}),
        setup=_post,
        shared={"get": "comments are public", "post": "anyone may comment on a post"},
    ),
    "community-comment": Entry(setup=_comment, private={"patch": {"body": "Taken over"}, "delete": None}),
    "community-reaction": Entry(
        setup=_post, shared={"put": "a reaction is the caller's own row", "delete": "removes only the caller's"}
    ),
    "community-accept": Entry(setup=_question, private={"post": {"comment": None}}),
    "community-post-report": Entry(setup=_post, shared={"post": "anyone may report a post"}),
    "community-comment-report": Entry(setup=_comment_only, shared={"post": "anyone may report a comment"}),
    "community-feed": Entry(),
    "community-follows": Entry(),
    "community-tags": Entry(public=frozenset({"get"})),
    # --- messaging: a conversation exists only for its members ---
    "conversation-list": Entry(own_rows=_conversations_of),
    "conversation-unread": Entry(),
    "conversation-detail": Entry(setup=_conversation, private={"get": None}),
    "conversation-leave": Entry(setup=_conversation, private={"post": {}}),
    "conversation-read": Entry(setup=_message, private={"post": {"message_id": 1}}),
    "message-list": Entry(setup=_conversation, private={"get": None, "post": {"body": "intrusion"}}),
    "message-detail": Entry(setup=_message, private={"patch": {"body": "Taken over"}, "delete": None}),
    # --- notifications: the recipient's alone; reading someone else's id is a 404
    # (tests/notifications/test_api.py: the id is in the body, not the path) ---
    "notification-list": Entry(own_rows=_notifications_of),
    "notification-unread-count": Entry(),
    "notification-read": Entry(),
    "notification-settings": Entry(),
    "notification-unsubscribe": Entry(public=frozenset({"get"})),  # the signed token names the user
    # --- lessons and refund requests: the student's and the tutor's; staff decide refunds and disputes ---
    "lesson-list": Entry(own_rows=_lessons_of),
    "lesson-detail": Entry(setup=_lesson, private={"get": None}),
    "lesson-complete": Entry(setup=_lesson, private={"post": {}}),
    "lesson-cancel": Entry(setup=_lesson, private={"post": {}}),
    "lesson-report-problem": Entry(setup=_lesson, private={"post": {"reason": "Intrusion"}}),
    "lesson-resolve": Entry(
        roles=STAFF,
        setup=_lesson,
        shared={"post": "staff resolve every disputed lesson, except one they take part in (403)"},
    ),
    "refund-request-list": Entry(own_rows=_refunds_of),
    "refund-request-detail": Entry(setup=_refund, private={"get": None}),
    "refund-request-approve": Entry(roles=STAFF, setup=_refund, shared={"post": "staff decide every refund"}),
    "refund-request-reject": Entry(roles=STAFF, setup=_refund, shared={"post": "staff decide every refund"}),
    # --- reviews: the lesson's student writes and edits, its tutor replies, anyone reads ---
    "lesson-review": Entry(roles=STUDENTS, setup=_completed, private={"post": {"rating": 1, "text": "Intrusion"}}),
    "review-detail": Entry(roles=STUDENTS, setup=_review, private={"patch": {"rating": 1}}),
    "review-reply": Entry(
        roles=TUTORS, owner_role="tutor", setup=_review_of_lesson_taught, private={"post": {"text": "Intrusion"}}
    ),
    "tutor-reviews": Entry(
        public=frozenset({"get"}), owner_role="tutor", setup=_tutor_profile, shared={"get": "reviews are public"}
    ),
    # --- earnings: tutors only, each their own ---
    "earnings-overview": Entry(roles=TUTORS, owner_role="tutor"),
    "earnings-analytics": Entry(roles=TUTORS, owner_role="tutor"),
    "earnings-transactions": Entry(roles=TUTORS, owner_role="tutor", own_rows=_earnings_of),
    "earnings-transaction-detail": Entry(roles=TUTORS, owner_role="tutor", setup=_earning, private={"get": None}),
    "earnings-payout-methods": Entry(roles=TUTORS, owner_role="tutor", own_rows=_payout_methods_of),
    "earnings-payout-method": Entry(
        roles=TUTORS,
        owner_role="tutor",
        setup=_payout_method,
        private={"patch": {"is_default": True}, "delete": None},
    ),
    "earnings-refund-requests": Entry(roles=TUTORS, owner_role="tutor", own_rows=_refunds_on_lessons_taught),
    "earnings-refund-request": Entry(
        roles=TUTORS, owner_role="tutor", setup=_refund_on_lesson_taught, private={"get": None}
    ),
    "earnings-withdrawals": Entry(roles=TUTORS, owner_role="tutor", own_rows=_withdrawals_of),
    "earnings-withdrawal-detail": Entry(roles=TUTORS, owner_role="tutor", setup=_withdrawal, private={"get": None}),
    # --- wallet: students only, each their own ---
    "wallet": Entry(roles=STUDENTS),
    "wallet-auto-reload": Entry(roles=STUDENTS),
    "wallet-payment-methods": Entry(roles=STUDENTS, own_rows=_payment_methods_of),
    "wallet-payment-method": Entry(
        roles=STUDENTS, setup=_payment_method, private={"patch": {"is_default": True}, "delete": None}
    ),
    "wallet-top-ups": Entry(roles=STUDENTS, own_rows=_top_ups_of),
    "wallet-top-up": Entry(roles=STUDENTS, setup=_top_up, private={"get": None}),
    "wallet-transactions": Entry(roles=STUDENTS, own_rows=_transactions_of),
    "wallet-transaction": Entry(roles=STUDENTS, setup=_transaction, private={"get": None}),
}

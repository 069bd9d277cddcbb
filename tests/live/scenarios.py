"""Data for the live-topology tests, made through the services in the topology's database.

Run as `python -m tests.live.scenarios` with the topology's environment (so writes go to
its scratch database and cache invalidations to its Redis); prints the ids, emails and
tokens the tests need as one JSON object.
"""

import json

import django


def build() -> dict:
    from django.conf import settings
    from django.contrib.auth.hashers import make_password

    from earnings import services as earnings
    from messaging import services as messaging
    from tests.accounts.factories import PASSWORD, StudentFactory, token_for
    from tests.earnings.conftest import fund_available
    from tests.ledger.factories import funded_wallet
    from tests.lessons.factories import completed_lesson, tutor_teaching
    from wemaster.accounts.models import User
    from wemaster.lessons import services as lessons

    alice = StudentFactory(email="alice@live.test", display_name="Alice Student")
    bob = tutor_teaching()
    User.objects.filter(pk=bob.pk).update(email="bob@live.test", display_name="Bob Tutor")
    carol = tutor_teaching()
    staff = StudentFactory(email="staff@live.test", display_name="Staff", is_staff=True, is_superuser=True)
    # One production-strength hash for everyone: each hashing costs about a second here.
    User.objects.filter(pk__in=[alice.pk, bob.pk, carol.pk, staff.pk]).update(password=make_password(PASSWORD))

    conversation, _ = messaging.conversation_create(creator=alice, participant_ids=[bob.pk])

    funded_wallet(alice, 10_000)
    lesson = completed_lesson(student=alice, tutor=bob)
    refund = lessons.refund_request_create(student=alice, lesson_id=lesson.pk, reason="The tutor never showed up")

    fund_available(carol, 10_000)
    payout_method = earnings.payout_method_add(tutor=carol, token="btok_ok")

    def token(user) -> str:
        return token_for(user, name="live tests")

    return {
        "password": PASSWORD,
        "currency": settings.CURRENCY,
        "alice": {"id": alice.pk, "email": "alice@live.test", "token": token(alice)},
        "bob": {"id": bob.pk, "email": "bob@live.test", "token": token(bob)},
        "carol": {"id": carol.pk, "token": token(carol), "payout_method": payout_method.pk},
        "staff": {"id": staff.pk, "email": "staff@live.test", "token": token(staff)},
        "conversation": conversation.pk,
        "refund": {"id": refund.pk, "amount": refund.amount, "lesson": lesson.pk, "price": lesson.price},
    }


if __name__ == "__main__":
    django.setup()
    print(json.dumps(build()))

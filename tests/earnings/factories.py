from datetime import timedelta

import factory
from django.conf import settings
from django.utils import timezone

from earnings.models import Earning, EarningKind
from earnings.services import commission_split
from tests.accounts.factories import StudentFactory, TutorFactory
from wemaster.accounts.models import Subject


class SubjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subject
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"subject{n}")


class EarningFactory(factory.django.DjangoModelFactory):
    """An earning row alone (no ledger money): for read-side tests such as analytics."""

    class Meta:
        model = Earning

    tutor = factory.SubFactory(TutorFactory)
    student = factory.SubFactory(StudentFactory)
    subject = factory.SubFactory(SubjectFactory)
    kind = EarningKind.LESSON
    lesson_id = factory.Sequence(lambda n: 1_000_000 + n)
    minutes = 60
    currency = settings.CURRENCY
    gross = 4000
    commission_percent = 25
    commission = factory.LazyAttribute(lambda o: commission_split(gross=o.gross, percent=o.commission_percent)[0])
    net = factory.LazyAttribute(lambda o: o.gross - o.commission)
    earned_at = factory.LazyFunction(timezone.now)
    available_on = factory.LazyAttribute(lambda o: o.earned_at + timedelta(days=settings.EARNINGS_CLEARANCE_DAYS))

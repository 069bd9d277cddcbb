import factory
from django.conf import settings

from wemaster.accounts.models import Role, TutorProfile, User
from wemaster.accounts.services import subjects_resolve
from wemaster.scheduling.services import availability_replace
from wemaster.scheduling.slots import Window

PASSWORD = "correct-horse-battery-staple"
# What a factory tutor teaches unless told otherwise: with the rate, it makes the tutor bookable.
DEFAULT_SUBJECTS = ("mathematics",)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    display_name = factory.Faker("name")
    role = Role.STUDENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class StudentFactory(UserFactory):
    role = Role.STUDENT


class StaffFactory(UserFactory):
    role = Role.STAFF
    is_staff = True


class TutorProfileFactory(factory.django.DjangoModelFactory):
    """A bookable profile: a rate, DEFAULT_SUBJECTS (`profile__subjects=[]` for none) and an
    always-available week (`profile__availability=False` for none: then not bookable at all)."""

    class Meta:
        model = TutorProfile
        skip_postgeneration_save = True

    hourly_rate = 4000
    currency = settings.CURRENCY

    @factory.post_generation
    def subjects(obj, create, extracted, **kwargs):
        names = DEFAULT_SUBJECTS if extracted is None else extracted
        if create and names:
            obj.subjects.set(subjects_resolve(list(names)))

    @factory.post_generation
    def availability(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            always_available(obj.user)


class TutorFactory(UserFactory):
    role = Role.TUTOR
    profile = factory.RelatedFactory(TutorProfileFactory, factory_related_name="user")


def always_available(tutor) -> None:
    """Give `tutor` every hour of every day (replacing any availability they had)."""
    availability_replace(tutor=tutor, windows=[Window(day, 0, 24 * 60) for day in range(7)], exceptions=[])


def token_for(user, name: str = "tests") -> str:
    """A new API token of `user`, as the client holds it (the database keeps only its digest)."""
    from wemaster.accounts.sessions import token_create

    return token_create(user=user, name=name)[1]

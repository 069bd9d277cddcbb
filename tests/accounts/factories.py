import factory
from django.conf import settings

from wemaster.accounts.models import Role, TutorProfile, User

PASSWORD = "correct-horse-battery-staple"


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


class TutorProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TutorProfile

    hourly_rate = 4000
    currency = settings.CURRENCY


class TutorFactory(UserFactory):
    role = Role.TUTOR
    profile = factory.RelatedFactory(TutorProfileFactory, factory_related_name="user")


def token_for(user, name: str = "tests") -> str:
    """A new API token of `user`, as the client holds it (the database keeps only its digest)."""
    from wemaster.accounts.sessions import token_create

    return token_create(user=user, name=name)[1]

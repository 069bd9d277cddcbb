"""Account writes: registration, credentials, profile updates."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from wemaster.accounts.models import Role, Subject, TutorProfile, User
from wemaster.core.cache import invalidate_tags
from wemaster.core.errors import InvalidCredentials, ValidationFailed

# Every cached page of the public tutor directory carries this tag.
TUTOR_DIRECTORY_TAG = "tutor_directory"


class EmailTaken(ValidationFailed):
    pass


class WeakPassword(ValidationFailed):
    pass


def _check_password_strength(*, password: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise WeakPassword(fields={"password": list(exc.messages)}) from exc


@transaction.atomic
def user_register(*, email: str, password: str, role: str, display_name: str) -> tuple[User, Token]:
    """Create a user (and a tutor profile for tutors) and its API token.

    Raises EmailTaken for an email already registered (case-insensitive), WeakPassword
    when Django's password validators refuse the password.
    """
    email = User.objects.normalize_email(email).strip().lower()
    user = User(email=email, role=role, display_name=display_name.strip())
    _check_password_strength(password=password, user=user)
    user.set_password(password)
    taken = EmailTaken(fields={"email": ["A user with this email already exists."]})
    if User.objects.filter(email=email).exists():
        raise taken
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # a concurrent registration of the same email won
        raise taken from exc
    if role == Role.TUTOR:
        TutorProfile.objects.create(user=user, currency=settings.CURRENCY)
        invalidate_tags(TUTOR_DIRECTORY_TAG)
    token = Token.objects.create(user=user)
    return user, token


def token_obtain(*, email: str, password: str) -> Token:
    """The user's API token (created on first login). Raises InvalidCredentials."""
    user = authenticate(username=email.strip().lower(), password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials()
    token, _ = Token.objects.get_or_create(user=user)
    return token


def subjects_resolve(names: list[str]) -> list[Subject]:
    """Subjects by normalized name, created on first use."""
    normalized = sorted({name.strip().lower() for name in names if name.strip()})
    existing = {s.name: s for s in Subject.objects.filter(name__in=normalized)}
    missing = [Subject(name=name) for name in normalized if name not in existing]
    if missing:
        Subject.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {s.name: s for s in Subject.objects.filter(name__in=normalized)}
    return [existing[name] for name in normalized]


@transaction.atomic
def user_update(
    *,
    user: User,
    display_name: str | None = None,
    bio: str | None = None,
    hourly_rate: int | None = None,
    subjects: list[str] | None = None,
) -> User:
    """Update the caller's profile. Tutor-only fields are refused for students."""
    if not user.is_tutor and (hourly_rate is not None or subjects is not None):
        raise ValidationFailed(
            fields={"hourly_rate": ["Tutors only."]} if hourly_rate is not None else {"subjects": ["Tutors only."]},
        )
    changed = []
    if display_name is not None:
        user.display_name = display_name.strip()
        changed.append("display_name")
    if bio is not None:
        user.bio = bio
        changed.append("bio")
    if changed:
        user.save(update_fields=changed)
    if user.is_tutor and (hourly_rate is not None or subjects is not None):
        profile, _ = TutorProfile.objects.get_or_create(user=user, defaults={"currency": settings.CURRENCY})
        if hourly_rate is not None:
            profile.hourly_rate = hourly_rate
            profile.save(update_fields=["hourly_rate"])
        if subjects is not None:
            profile.subjects.set(subjects_resolve(subjects))
    if user.is_tutor and (changed or hourly_rate is not None or subjects is not None):
        invalidate_tags(TUTOR_DIRECTORY_TAG)
    return user

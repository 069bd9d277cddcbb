"""Account writes: registration, credentials, password reset, deactivation, profile updates."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from wemaster.accounts import sessions
from wemaster.accounts.errors import EmailTaken, InvalidResetToken, WeakPassword, WrongPassword
from wemaster.accounts.models import Role, Subject, TutorProfile, User, normalize_email
from wemaster.accounts.tasks import password_reset_send
from wemaster.core.cache import invalidate_tags
from wemaster.core.errors import InvalidCredentials, ValidationFailed
from wemaster.core.revocation import revoke_sessions

# Every cached page of the public tutor directory carries this tag.
TUTOR_DIRECTORY_TAG = "tutor_directory"


def _check_password_strength(*, password: str, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise WeakPassword(fields={field: list(exc.messages)}) from exc


@transaction.atomic
def user_register(
    *, email: str, password: str, role: str, display_name: str, device_name: str = ""
) -> tuple[User, str]:
    """Create a user (and a tutor profile for tutors) and a token for the registering device;
    returns the user and the raw token (shown once).

    Raises EmailTaken for an email already registered (case-insensitive), WeakPassword
    when Django's password validators refuse the password.
    """
    email = normalize_email(email)
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
    _, token = sessions.token_create(user=user, name=device_name)
    return user, token


def token_obtain(*, email: str, password: str, device_name: str = "") -> str:
    """A new token for the device logging in (the raw token, shown once). Raises
    InvalidCredentials, also for a deactivated account."""
    user = authenticate(username=normalize_email(email), password=password)
    if user is None or not user.is_active:
        raise InvalidCredentials()
    _, token = sessions.token_create(user=user, name=device_name)
    return token


def _check_current_password(user: User, password: str) -> User:
    """The user with every field loaded (the request's user has only its identity fields), once
    `password` is confirmed to be its current one. Raises WrongPassword."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(password):
        raise WrongPassword()
    return user


@transaction.atomic
def password_change(*, user: User, current_password: str, new_password: str, current_token_id: int | None) -> User:
    """Set a new password, revoking every token but the one in use (`current_token_id`; None
    revokes all). Returns the user as saved. Raises WrongPassword, WeakPassword (on
    `new_password`)."""
    user = _check_current_password(user, current_password)
    _check_password_strength(password=new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    sessions.tokens_revoke_others(user_id=user.pk, keep_token_id=current_token_id)
    return user


def password_reset_request(*, email: str) -> None:
    """Mail a reset link to the active account with this email, if there is one; the caller
    answers the same either way (no account enumeration). The mail is sent by a task, after
    commit; the link is made there, so it never travels through the broker."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).only("id", "password").first()
    if user is not None and user.has_usable_password():
        password_reset_send.delay_on_commit(user.pk)


def _user_for_reset(uid: str, token: str) -> User:
    try:
        user_id = int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        raise InvalidResetToken() from None
    user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        raise InvalidResetToken()
    return user


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set the password a reset link was sent for and revoke every token and socket of the
    user. The link dies with the password it changed. Raises InvalidResetToken, WeakPassword."""
    user = _user_for_reset(uid, token)
    _check_password_strength(password=new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    sessions.tokens_delete(user_id=user.pk)
    revoke_sessions(user.pk)
    return user


@transaction.atomic
def user_deactivate(*, user: User, current_password: str) -> None:
    """Close the account: the user can no longer log in, every token and socket is revoked. The
    email stays taken, and money records (wallet, ledger, lessons, earnings) are kept as they
    are. Raises WrongPassword."""
    user = _check_current_password(user, current_password)
    user.is_active = False
    # The save closes every socket of the user (core signals: access taken away).
    user.save(update_fields=["is_active"])
    sessions.tokens_delete(user_id=user.pk)
    if user.is_tutor:
        invalidate_tags(TUTOR_DIRECTORY_TAG)


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

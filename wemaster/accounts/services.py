"""Account writes: registration, credentials, password reset, deactivation, profile updates."""

from collections.abc import Collection
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils.encoding import force_str
from django.utils.http import urlsafe_base64_decode

from wemaster.accounts import sessions
from wemaster.accounts.errors import EmailTaken, InvalidResetToken, NotATutor, WeakPassword, WrongPassword
from wemaster.accounts.models import Role, Subject, TutorLanguage, TutorProfile, User, normalize_email
from wemaster.accounts.tasks import password_reset_send
from wemaster.accounts.validators import normalize_subject_name
from wemaster.core.cache import invalidate_tags
from wemaster.core.errors import InvalidCredentials, ValidationFailed
from wemaster.core.revocation import revoke_sessions
from wemaster.scheduling import services as scheduling

# Every cached page of the public tutor directory and of the subject list carries this tag.
TUTOR_DIRECTORY_TAG = "tutor_directory"
# The cached subject catalog (names the directory's `?subject=` accepts) carries this one.
SUBJECT_CATALOG_TAG = "subject_catalog"


def _check_password_strength(*, password: str, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise WeakPassword(fields={field: list(exc.messages)}) from exc


@transaction.atomic
def user_register(
    *, email: str, password: str, role: str, display_name: str, device_name: str = ""
) -> tuple[User, str]:
    """Create a user (`user_create`) and a token for the registering device; returns the user
    and the raw token (shown once). Raises what `user_create` raises."""
    user = user_create(email=email, password=password, role=role, display_name=display_name)
    _, token = sessions.token_create(user=user, name=device_name)
    return user, token


def user_create(*, email: str, password: str, role: str, display_name: str) -> User:
    """Create a user, and a tutor profile for tutors: registration, and staff adding a user in
    the admin.

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
        tutor_profile_ensure(user=user)  # empty: listed once it has a rate and a subject
    return user


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
    return _password_replace(_user_for_reset(uid, token), new_password, field="new_password")


def _password_replace(user: User, password: str | None, *, field: str) -> User:
    """Set the password (None: an unusable one, no password login) and sign the user out
    everywhere (every token, every socket)."""
    if password is None:
        user.set_unusable_password()
    else:
        _check_password_strength(password=password, user=user, field=field)
        user.set_password(password)
    user.save(update_fields=["password"])
    sessions.tokens_delete(user_id=user.pk)
    revoke_sessions(user.pk)
    return user


@transaction.atomic
def user_deactivate(*, user: User, current_password: str) -> None:
    """Close the account: the user can no longer log in, every token and socket is revoked. The
    email stays taken, and money records (wallet, ledger, lessons, earnings) are kept as they
    are. Raises WrongPassword."""
    _deactivate(_check_current_password(user, current_password))


@transaction.atomic
def staff_user_deactivate(*, user_id: int) -> bool:
    """Staff close an account (the admin's action): as `user_deactivate`, without the user's
    password. Returns False for an account already inactive."""
    user = User.objects.select_for_update().get(pk=user_id)
    if not user.is_active:
        return False
    _deactivate(user)
    return True


def _deactivate(user: User) -> None:
    user.is_active = False
    # The save closes every socket of the user (core signals: access taken away).
    user.save(update_fields=["is_active"])
    sessions.tokens_delete(user_id=user.pk)
    if user.is_tutor:
        invalidate_tags(TUTOR_DIRECTORY_TAG)


@transaction.atomic
def staff_password_set(*, user_id: int, password: str | None) -> User:
    """Staff set a user's password, or None to disable password login (the admin's password
    form): the user is signed out everywhere, as after a reset. Raises WeakPassword."""
    return _password_replace(User.objects.select_for_update().get(pk=user_id), password, field="password")


def subjects_resolve(names: list[str]) -> list[Subject]:
    """Subjects by normalized name, created on first use: for staff tools and seeds that grow
    the catalog (tutors choose from it: `subjects_lookup`)."""
    normalized = sorted({normalize_subject_name(name) for name in names if name.strip()})
    existing = {s.name: s for s in Subject.objects.filter(name__in=normalized)}
    missing = [Subject(name=name) for name in normalized if name not in existing]
    if missing:
        Subject.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {s.name: s for s in Subject.objects.filter(name__in=normalized)}
        subject_catalog_changed()
    return [existing[name] for name in normalized]


def subjects_lookup(names: list[str]) -> list[Subject]:
    """Catalog subjects by name (normalized, each once, in name order).

    Raises ValidationFailed naming every name that is not in the catalog (`fields["subjects"]`).
    """
    normalized = sorted({normalize_subject_name(name) for name in names})
    found = {subject.name: subject for subject in Subject.objects.filter(name__in=normalized)}
    unknown = [name for name in normalized if name not in found]
    if unknown:
        listed = ", ".join(f'"{name}"' for name in unknown)
        raise ValidationFailed(fields={"subjects": [f"Unknown subject: {listed}. GET /api/v1/subjects lists them."]})
    return [found[name] for name in normalized]


def tutor_directory_changed() -> None:
    """Cached directory pages and subject tutor counts are stale once the current transaction
    commits (at once outside one). Every write that changes what the directory shows calls it."""
    invalidate_tags(TUTOR_DIRECTORY_TAG)


@transaction.atomic
def subject_save(*, subject: Subject) -> Subject:
    """Add or rename a catalog subject (staff, in the admin); its pages are stale on commit."""
    subject.name = normalize_subject_name(subject.name)
    subject.save()
    subject_catalog_changed()
    return subject


@transaction.atomic
def subjects_delete(*, subject_ids: Collection[int]) -> int:
    """Remove subjects from the catalog (staff). Raises ProtectedError for one lessons were
    booked in."""
    deleted, _ = Subject.objects.filter(pk__in=list(subject_ids)).delete()
    subject_catalog_changed()
    return deleted


def subject_catalog_changed() -> None:
    """The catalog (names, and the pages that show them) is stale once the transaction commits."""
    invalidate_tags(SUBJECT_CATALOG_TAG, TUTOR_DIRECTORY_TAG)


def tutor_profile_ensure(*, user: User) -> TutorProfile:
    """The tutor's profile, created empty (not listed, not bookable) if missing. Registration and
    the admin call this, so every tutor has one."""
    profile, _ = TutorProfile.objects.get_or_create(user=user, defaults={"currency": settings.CURRENCY})
    return profile


# User fields the directory shows or filters on.
_DIRECTORY_USER_FIELDS = frozenset({"display_name", "role", "is_active"})


@transaction.atomic
def staff_user_save(*, user: User, changed: Collection[str]) -> User:
    """Save the user as staff edited it in the admin (`changed`: the form's changed fields): a
    tutor always has a profile, a user deactivated there loses every token (the save itself
    closes the sockets: core signals), and a change the directory shows (name, role, active)
    reaches it once the transaction commits."""
    user.save()
    if "is_active" in changed and not user.is_active:
        sessions.tokens_delete(user_id=user.pk)
    if user.is_tutor:
        tutor_profile_ensure(user=user)
    if _DIRECTORY_USER_FIELDS & set(changed):
        tutor_directory_changed()
    return user


@dataclass(frozen=True)
class TutorProfileChanges:
    """The profile fields a tutor (or staff in admin) sets; None leaves a field as it is.

    Values arrive shaped and checked (`hourly_rate` in cents within the limits, `timezone` an
    IANA name, `languages` ISO 639-1 codes: wemaster.accounts.validators); subjects are names
    looked up in the catalog here.
    """

    hourly_rate: int | None = None
    subjects: list[str] | None = None
    headline: str | None = None
    timezone: str | None = None
    languages: list[str] | None = None


def _tutor_profile_apply(*, user: User, changes: TutorProfileChanges) -> bool:
    """Write `changes` to the user's profile (created if missing). Returns whether anything was
    given. Precondition: inside a transaction. Raises ValidationFailed (unknown subjects)."""
    subjects = subjects_lookup(changes.subjects) if changes.subjects is not None else None
    profile = tutor_profile_ensure(user=user)
    updated = []
    for name in ("hourly_rate", "headline", "timezone"):
        value = getattr(changes, name)
        if value is not None:
            setattr(profile, name, value)
            updated.append(name)
    if updated:
        profile.save(update_fields=updated)
    if "timezone" in updated:
        scheduling.tutor_slots_changed(tutor_id=user.id)  # the same windows are other instants now
    if subjects is not None:
        profile.subjects.set(subjects)
    if changes.languages is not None:
        TutorLanguage.objects.filter(profile=profile).delete()
        codes = list(dict.fromkeys(changes.languages))  # each once, in the tutor's order
        TutorLanguage.objects.bulk_create(TutorLanguage(profile=profile, code=code) for code in codes)
    return bool(updated) or subjects is not None or changes.languages is not None


@transaction.atomic
def tutor_profile_update(*, user: User, changes: TutorProfileChanges) -> TutorProfile:
    """Update a tutor's profile; the directory shows it once the transaction commits.

    Raises NotATutor for any other role, ValidationFailed naming unknown subjects.
    """
    if not user.is_tutor:
        raise NotATutor()
    if _tutor_profile_apply(user=user, changes=changes):
        tutor_directory_changed()
    return user.tutor_profile


@transaction.atomic
def user_update(
    *,
    user: User,
    display_name: str | None = None,
    bio: str | None = None,
    tutor_profile: TutorProfileChanges | None = None,
) -> User:
    """Update the caller's own profile; `tutor_profile` is for tutors only.

    Raises ValidationFailed: `fields["tutor_profile"]` for a non-tutor sending one, or nesting the
    profile's own field errors (unknown subjects).
    """
    if tutor_profile is not None and not user.is_tutor:
        raise ValidationFailed(fields={"tutor_profile": [NotATutor.default_detail]})
    changed = []
    if display_name is not None:
        user.display_name = display_name.strip()
        changed.append("display_name")
    if bio is not None:
        user.bio = bio
        changed.append("bio")
    if changed:
        user.save(update_fields=changed)
    profile_changed = False
    if tutor_profile is not None:
        try:
            profile_changed = _tutor_profile_apply(user=user, changes=tutor_profile)
        except ValidationFailed as exc:
            raise ValidationFailed(fields={"tutor_profile": exc.fields}) from exc
    if user.is_tutor and (changed or profile_changed):
        tutor_directory_changed()
    return user

"""Account reads, shaped for their callers."""

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from wemaster.accounts.models import Role, Subject, TutorLanguage, TutorProfile, User

_SUBJECT_NAMES = Prefetch("subjects", queryset=Subject.objects.only("id", "name"))
_LANGUAGE_CODES = Prefetch("languages", queryset=TutorLanguage.objects.only("id", "profile_id", "code"))


def tutor_directory(
    *,
    subject_id: int | None = None,
    language: str | None = None,
    min_rate: int | None = None,
    max_rate: int | None = None,
) -> QuerySet[TutorProfile]:
    """Bookable tutors' profiles (with the user's name and the subjects loaded: two queries a page
    whatever its size), filtered by subject, teaching language and hourly rate in cents (inclusive).
    Unordered: the caller's keyset pagination orders it."""
    profiles = TutorProfile.objects.bookable()
    if subject_id is not None:
        teaches = TutorProfile.subjects.through.objects.filter(tutorprofile_id=OuterRef("pk"), subject_id=subject_id)
        profiles = profiles.filter(Exists(teaches))
    if language:
        profiles = profiles.filter(Exists(TutorLanguage.objects.filter(profile_id=OuterRef("pk"), code=language)))
    if min_rate is not None:
        profiles = profiles.filter(hourly_rate__gte=min_rate)
    if max_rate is not None:
        profiles = profiles.filter(hourly_rate__lte=max_rate)
    return (
        profiles.select_related("user")
        .prefetch_related(_SUBJECT_NAMES)
        .only(
            "user_id",
            "hourly_rate",
            "currency",
            "headline",
            "rating",
            "review_count",
            "user__id",
            "user__display_name",
        )
    )


def tutor_detail(*, tutor_id: int) -> TutorProfile | None:
    """A bookable tutor's whole public profile (three queries), or None for anyone else."""
    return (
        TutorProfile.objects.bookable()
        .filter(pk=tutor_id)
        .select_related("user")
        .prefetch_related(_SUBJECT_NAMES, _LANGUAGE_CODES)
        .first()
    )


def subject_list() -> QuerySet[Subject]:
    """Every catalog subject with `tutor_count`, the bookable tutors teaching it (one query a page).
    A tutor who teaches a subject has one, so a rate and an active tutor account make it bookable."""
    bookable = Q(tutors__hourly_rate__gt=0, tutors__user__role=Role.TUTOR, tutors__user__is_active=True)
    return Subject.objects.annotate(tutor_count=Count("tutors", filter=bookable))


def subject_catalog() -> dict[str, int]:
    """Catalog subject ids by name."""
    return dict(Subject.objects.values_list("name", "id"))


def user_with_profile(*, user_id: int) -> User:
    """The user with the tutor profile, its subjects and languages loaded (for tutors)."""
    return (
        User.objects.select_related("tutor_profile")
        .prefetch_related(
            Prefetch("tutor_profile__subjects", queryset=Subject.objects.only("id", "name")),
            Prefetch("tutor_profile__languages", queryset=TutorLanguage.objects.only("id", "profile_id", "code")),
        )
        .get(pk=user_id)
    )

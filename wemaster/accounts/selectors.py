"""Account reads, shaped for their callers."""

from django.db.models import Prefetch, QuerySet

from wemaster.accounts.models import Role, Subject, User


def tutor_list(*, subject: str | None = None) -> QuerySet[User]:
    """Active tutors with profile and subjects loaded: a constant number of queries per page."""
    qs = (
        User.objects.filter(role=Role.TUTOR, is_active=True)
        .select_related("tutor_profile")
        .prefetch_related(Prefetch("tutor_profile__subjects", queryset=Subject.objects.only("id", "name")))
        .only(
            "id",
            "display_name",
            "tutor_profile__user_id",
            "tutor_profile__hourly_rate",
            "tutor_profile__currency",
            "tutor_profile__rating",
        )
    )
    if subject:
        qs = qs.filter(tutor_profile__subjects__name=subject.strip().lower())
    return qs


def user_with_profile(*, user_id: int) -> User:
    return User.objects.select_related("tutor_profile").prefetch_related("tutor_profile__subjects").get(pk=user_id)

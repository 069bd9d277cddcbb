from django.db.models import Q, QuerySet

from wemaster.core.errors import NotFound
from wemaster.lessons.models import Lesson, RefundRequest


def _for_api(queryset: QuerySet[Lesson]) -> QuerySet[Lesson]:
    return queryset.select_related("student", "tutor", "subject")


def lesson_list(*, user, status: str | None = None) -> QuerySet[Lesson]:
    """The user's lessons as student or tutor, shaped for the API (no N+1)."""
    queryset = _for_api(Lesson.objects.filter(Q(student=user) | Q(tutor=user)))
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def lesson_get(*, user, lesson_id: int) -> Lesson:
    lesson = lesson_list(user=user).filter(pk=lesson_id).first()
    if lesson is None:
        raise NotFound("Lesson not found.")
    return lesson


def lesson_get_for_staff(*, lesson_id: int) -> Lesson:
    """Any lesson, for staff deciding a dispute (the views check the staff permission)."""
    lesson = _for_api(Lesson.objects.filter(pk=lesson_id)).first()
    if lesson is None:
        raise NotFound("Lesson not found.")
    return lesson


def refund_request_list(*, user, status: str | None = None) -> QuerySet[RefundRequest]:
    """Staff see every request (to decide them); everyone else only their own."""
    queryset = RefundRequest.objects.all() if user.is_staff else RefundRequest.objects.filter(student=user)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def refund_request_get(*, user, refund_request_id: int) -> RefundRequest:
    refund = refund_request_list(user=user).filter(pk=refund_request_id).first()
    if refund is None:
        raise NotFound("Refund request not found.")
    return refund


def refund_requests_on_lessons_taught(*, tutor_id: int, status: str | None = None) -> QuerySet[RefundRequest]:
    """Refund requests students made on lessons the tutor taught, with the student loaded (one
    query a page). The tutor reads them; students ask and staff decide."""
    queryset = RefundRequest.objects.filter(lesson__tutor_id=tutor_id).select_related("student")
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def refund_request_on_lesson_taught(*, tutor_id: int, refund_request_id: int) -> RefundRequest:
    """Raises NotFound for a request on a lesson someone else taught."""
    refund = refund_requests_on_lessons_taught(tutor_id=tutor_id).filter(pk=refund_request_id).first()
    if refund is None:
        raise NotFound("Refund request not found.")
    return refund

from rest_framework import status

from wemaster.core.errors import Conflict, DomainError


class SlotTaken(Conflict):
    code = "slot_taken"
    default_detail = "The tutor already has a lesson booked at that time."


class InvalidTransition(Conflict):
    code = "invalid_transition"
    default_detail = "The lesson is not in a state that allows this."


class CannotBookSelf(DomainError):
    code = "cannot_book_self"
    default_detail = "You cannot book a lesson with yourself."


class RefundAlreadyRequested(Conflict):
    code = "refund_already_requested"
    default_detail = "A refund was already requested for this lesson."


class RefundNotAllowed(Conflict):
    code = "refund_not_allowed"
    default_detail = "Only a completed lesson can be refunded."


class RefundAlreadyDecided(Conflict):
    code = "refund_already_decided"
    default_detail = "This refund request was already approved or rejected."


class OnlyStudentsBook(DomainError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Only students can book lessons."


class LessonStarted(Conflict):
    code = "lesson_started"
    default_detail = "The lesson has started; it can no longer be cancelled."


class LessonNotEnded(Conflict):
    code = "lesson_not_ended"
    default_detail = "The lesson has not ended yet."


class ReportWindowOpen(Conflict):
    """The tutor tried to capture while the student may still report a problem."""

    code = "report_window_open"
    default_detail = "The student may still report a problem; the lesson completes automatically afterwards."


class ReportWindowClosed(Conflict):
    code = "report_window_closed"
    default_detail = "The time to report a problem with this lesson is over."


class OnlyStudentsReport(DomainError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Only the lesson's student can report a problem."


class StaffOnly(DomainError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Only staff can do this."


class ConflictOfInterest(DomainError):
    """A staff user may not decide money in which they are the student or the tutor
    (lesson disputes here; refund decisions use the same code)."""

    code = "conflict_of_interest"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Staff cannot decide a case in which they are the student or the tutor."


class TutorNotBookable(DomainError):
    """The tutor has no hourly rate or no subject yet, so is neither listed nor bookable."""

    code = "tutor_not_bookable"
    default_detail = "This tutor cannot be booked yet: the profile needs an hourly rate and a subject."

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


class ConflictOfInterest(DomainError):
    code = "conflict_of_interest"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Staff cannot decide a case in which they are the student or the tutor."

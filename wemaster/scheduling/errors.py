from rest_framework import status

from wemaster.core.errors import Conflict, DomainError


class OutsideAvailability(Conflict):
    code = "outside_availability"
    default_detail = "The tutor is not available at that time; GET /api/v1/tutors/{id}/slots lists bookable times."


class OnlyTutorsHaveAvailability(DomainError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Only tutors have availability."

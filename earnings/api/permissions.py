from rest_framework.permissions import BasePermission


class IsTutor(BasePermission):
    """Earnings endpoints are the tutors' own: any other role gets 403 (the role, not an object,
    is refused, so there is nothing to hide behind a 404)."""

    message = "Only tutors have earnings."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_tutor)

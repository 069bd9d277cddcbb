from rest_framework import status

from wemaster.core.errors import Conflict, DomainError


class ReviewExists(Conflict):
    code = "review_exists"
    default_detail = "This lesson has already been reviewed; edit the review instead."


class LessonNotCompleted(Conflict):
    code = "lesson_not_completed"
    default_detail = "Only a completed lesson can be reviewed."


class LessonRefunded(Conflict):
    code = "lesson_refunded"
    default_detail = "This lesson was refunded; it cannot be reviewed."


class ReviewEditWindowClosed(Conflict):
    code = "review_edit_window_closed"
    default_detail = "The time to edit this review is over."


class ReplyExists(Conflict):
    code = "reply_exists"
    default_detail = "The tutor has already replied to this review."


class OnlyStudentsReview(DomainError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Only the lesson's student can review it."


class OnlyAuthorEdits(DomainError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Only the review's author can edit it."


class OnlyTutorReplies(DomainError):
    code = "permission_denied"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Only the lesson's tutor can reply to its review."

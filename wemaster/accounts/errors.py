from wemaster.core.errors import ValidationFailed


class NotATutor(ValidationFailed):
    default_detail = "Only tutors have a tutor profile."

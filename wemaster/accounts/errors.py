"""Account errors, each with the stable code the API answers (README, Accounts and sessions)."""

from wemaster.core.errors import DomainError, ValidationFailed


class EmailTaken(ValidationFailed):
    pass


class WeakPassword(ValidationFailed):
    """Django's password validators refused the password (`fields` names the field)."""


class WrongPassword(ValidationFailed):
    """The current password given to confirm a sensitive change is not the user's."""

    def __init__(self):
        super().__init__(fields={"current_password": ["The current password is not correct."]})


class InvalidResetToken(DomainError):
    code = "invalid_reset_token"
    default_detail = "The password reset link is invalid, expired or already used."

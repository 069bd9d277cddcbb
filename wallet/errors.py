from rest_framework import status

from wemaster.core.errors import DomainError


class NotAStudent(DomainError):
    """The wallet is a student's: tutors and other roles are refused outright."""

    code = "not_a_student"
    status_code = status.HTTP_403_FORBIDDEN
    default_detail = "Only students have a wallet."


class PaymentMethodDeclined(DomainError):
    """Attaching a card the provider refuses (400 `card_declined`, unlike a charge's 402)."""

    code = "card_declined"
    default_detail = "The card was declined."


class TopUpKeyReused(DomainError):
    """The Idempotency-Key already made a top-up of another amount or card; it stays that one's."""

    code = "idempotency_key_reused"
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "This Idempotency-Key was already used for another top-up."

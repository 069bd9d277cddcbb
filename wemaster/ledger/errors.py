from rest_framework import status

from wemaster.core.errors import Conflict, DomainError


class InsufficientFunds(DomainError):
    code = "insufficient_funds"
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_detail = "The available balance is too low for this operation."


class HoldAlreadyResolved(Conflict):
    code = "hold_already_resolved"
    default_detail = "This hold was already captured or voided."


class OverCapture(DomainError):
    code = "over_capture"
    default_detail = "Cannot capture more than the held amount."


class UnbalancedTransfer(DomainError):
    """A programming error surfaced as a domain error: the legs of a transfer must sum to zero."""

    code = "unbalanced_transfer"
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = "Transfer legs do not sum to zero."


class ReceivableOverpaid(DomainError):
    """A programming error: a repayment larger than the debt would turn a receivable positive."""

    code = "receivable_overpaid"
    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    default_detail = "A receivable cannot be repaid beyond what is owed."


class DuplicateTransfer(Conflict):
    code = "duplicate_transfer"
    default_detail = "This business event already moved money."

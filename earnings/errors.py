from rest_framework import status

from wemaster.core.errors import Conflict, DomainError


class BelowMinimumPayout(DomainError):
    code = "below_minimum_payout"
    default_detail = "The amount is below the minimum payout."


class InsufficientAvailableBalance(DomainError):
    code = "insufficient_available_balance"
    default_detail = "The amount is more than your available earnings."


class WithdrawalInProgress(Conflict):
    code = "withdrawal_in_progress"
    default_detail = "A withdrawal is already in progress."


class WithdrawalNotRetryable(Conflict):
    code = "withdrawal_not_retryable"
    default_detail = "Only a failed withdrawal can be retried."


class PayoutMethodRejected(DomainError):
    code = "payout_method_rejected"
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The bank account was rejected."

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """A money-moving request's key and its first response (API.md, Idempotency-Key).

    Written in the same transaction as the request's effect, so a key exists if and
    only if the effect committed.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="core_idempotency_key_per_user")]

    def __str__(self):
        return f"{self.user_id}:{self.key}"


class GatewayCall(models.Model):
    """What the sandbox payment gateway was asked to do: one row per idempotency key.

    Stands in for the provider's own records, so tests can assert exactly-once charges
    and payouts. A retried call with the same key replays the stored outcome.
    """

    class Operation(models.TextChoices):
        CHARGE = "charge"
        PAYOUT = "payout"

    operation = models.CharField(max_length=16, choices=Operation.choices)
    idempotency_key = models.CharField(max_length=255)
    source = models.CharField(max_length=64, help_text="Card or bank token charged / paid.")
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    succeeded = models.BooleanField()
    provider_reference = models.CharField(max_length=64)
    failure_code = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["operation", "idempotency_key"], name="core_gateway_call_once_per_key")
        ]

    def __str__(self):
        return f"{self.operation} {self.idempotency_key}"

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """A money-moving request's key and its first response (docs/API.md, Conventions: Idempotency-Key).

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


class ReconcileRun(models.Model):
    """One run of `manage.py reconcile`: when, and the discrepancies it found (none = every money
    invariant held). The staff operations page shows the last one."""

    ran_at = models.DateTimeField(auto_now_add=True, db_index=True)
    problems = models.JSONField(default=list)

    class Meta:
        verbose_name = "reconcile run"

    def __str__(self):
        outcome = "every invariant held" if not self.problems else f"{len(self.problems)} discrepancies"
        return f"Reconcile of {self.ran_at:%Y-%m-%d %H:%M} UTC: {outcome}"

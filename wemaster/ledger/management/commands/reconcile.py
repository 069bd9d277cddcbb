"""`manage.py reconcile`: check every money invariant; exit 1 naming each discrepancy. Each run
is recorded (the staff operations page shows the last one)."""

from django.core.management.base import BaseCommand

from wemaster.ledger.reconcile import reconcile_run


class Command(BaseCommand):
    help = "Check every ledger invariant; exits non-zero on any discrepancy."

    def handle(self, *args, **options):
        problems = reconcile_run().problems
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            self.stderr.write(self.style.ERROR(f"{len(problems)} discrepancies"))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS("Ledger reconciled: every invariant holds."))

"""`manage.py seed_demo`: demo users and, as the apps grow, their data. Idempotent, except that
each run prints a new API token per demo login (the previous run's stops working).

Each installed app may ship a `seed` module with `seed_demo(*, scale, progress)`;
they run in INSTALLED_APPS order, so accounts come before the apps that use them. A reconcile
run follows, so the staff operations page (/admin/operations/) shows a last reconcile result.
"""

from django.core.management.base import BaseCommand
from tqdm import tqdm

from wemaster.accounts.seed import demo_token
from wemaster.core.discovery import app_modules
from wemaster.ledger.reconcile import reconcile_run


class Command(BaseCommand):
    help = "Create demo users and data (idempotent). Credentials are printed at the end."

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=int, default=1, help="Multiply the amount of demo data (1 = small).")

    def handle(self, *args, scale: int, **options):
        if scale < 1:
            self.stderr.write("--scale must be at least 1")
            raise SystemExit(2)
        credentials: list[tuple[str, str, str]] = []

        def progress(iterable, *, desc: str, total: int | None = None):
            return tqdm(iterable, desc=desc, total=total, disable=total is not None and total < 200, file=self.stderr)

        for module in app_modules("seed"):
            credentials.extend(module.seed_demo(scale=scale, progress=progress) or [])
        problems = reconcile_run().problems
        self.stdout.write(
            f"Reconcile: {len(problems)} discrepancies" if problems else "Reconcile: every invariant holds."
        )

        self.stdout.write(self.style.SUCCESS("Demo data ready. Log in with (or use the API token):"))
        for role, email, password in dict.fromkeys(credentials):  # apps may name the same login
            self.stdout.write(f"  {role:8} {email:36} {password}  {demo_token(email)}")

"""`manage.py gateway_report [--json]`: the payment provider's own record of our charges and payouts."""

import json

from django.core.management.base import BaseCommand

from wemaster.core.money import format_minor
from wemaster.core.payments import get_gateway


class Command(BaseCommand):
    help = "Print every charge and payout the payment provider holds for us (the sandbox's own record)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="A JSON list (kind, key, provider_id, amount, ...).")
        parser.add_argument("--kind", choices=["charge", "payout"], help="Only charges or only payouts.")

    def handle(self, *args, **options):
        rows = [
            {
                "kind": record.kind,
                "key": record.key,
                "provider_id": record.provider_id,
                "amount": format_minor(record.amount),
                "currency": record.currency,
                "status": record.status,
                "failure_code": record.failure_code,
                "created_at": record.created_at.isoformat().replace("+00:00", "Z"),
            }
            for record in get_gateway().records(kind=options["kind"])
        ]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        for row in rows:
            self.stdout.write(
                f"{row['created_at']}  {row['kind']:<6}  {row['status']:<9}  {row['amount']:>10} {row['currency']}  "
                f"{row['provider_id']}  {row['key']}"
            )
        self.stdout.write(f"{len(rows)} records")

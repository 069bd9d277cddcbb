"""Wallet holds per second through `ledger.services.hold_create` from N threads (PostgreSQL).

    DATABASE_URL=postgres://... python bench/wallet_hold_tps.py --threads 8 --seconds 5 [--one-wallet]

Each thread holds 0.01 on its own student's wallet (or all on one wallet with --one-wallet),
including the on-commit debit signal and the auto-reload receiver's cheap check.
Compare with `pgbench -c 8 -T 10` (TPC-B-like) on the same machine. Writes to the database
it is pointed at: use a scratch one.
"""

import argparse
import os
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wemaster.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from wallet import services as wallet_services  # noqa: E402
from wemaster.accounts.models import Role, User  # noqa: E402
from wemaster.ledger import services as ledger  # noqa: E402
from wemaster.ledger.models import AccountKind, TransferKind  # noqa: E402


def funded_wallet_account(run: str, index: int):
    student = User.objects.create(email=f"bench-{run}-{index}@bench.test", role=Role.STUDENT, display_name="bench")
    account = wallet_services.wallet_ensure(student=student).account
    external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=settings.CURRENCY)
    ledger.transfer(
        kind=TransferKind.ADJUSTMENT,
        reference=f"bench:{run}:{index}",
        currency=settings.CURRENCY,
        legs=[ledger.Leg(external.id, -(10**9)), ledger.Leg(account.id, 10**9)],
    )
    return account


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--one-wallet", action="store_true")
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    shared = funded_wallet_account(run, 0) if args.one_wallet else None
    accounts = [shared or funded_wallet_account(run, i) for i in range(args.threads)]
    counts = [0] * args.threads
    start = threading.Barrier(args.threads + 1)
    deadline = [0.0]

    def worker(index):
        account = accounts[index]
        start.wait()
        n = 0
        while time.monotonic() < deadline[0]:
            ledger.hold_create(account=account, amount=1, reference=f"bench:{run}:{index}:{n}")
            n += 1
        counts[index] = n
        connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.threads)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + args.seconds
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    mode = "one wallet" if args.one_wallet else "one wallet per thread"
    total = sum(counts)
    print(f"{total} holds in {elapsed:.1f}s from {args.threads} threads ({mode}): {total / elapsed:.0f} holds/s")


if __name__ == "__main__":
    main()

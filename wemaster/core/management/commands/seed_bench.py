"""`manage.py seed_bench --scale small|medium|large`: benchmark data on an empty database.

Bulk COPY of realistic, skewed data (bench/seed.py); writes the manifest the benchmark
harness reads (tokens, ids) to `--out`. PostgreSQL only; refuses a database with users.
"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from bench.seed import SCALES, seed
from wemaster.accounts.models import User


class Command(BaseCommand):
    help = "Seed an empty PostgreSQL database with benchmark data (bulk COPY)."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=sorted(SCALES), default="small")
        parser.add_argument("--out", default="var/bench/manifest.json", help="Where to write the manifest.")

    def handle(self, *args, scale: str, out: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("seed_bench needs PostgreSQL (it uses COPY).")
        if User.objects.exists():
            raise CommandError("The database already has users; seed_bench wants a fresh, migrated database.")

        def progress(iterable, *, desc: str, total: int | None = None):
            return tqdm(iterable, desc=desc, total=total, file=self.stderr, mininterval=1.0, leave=False)

        started = time.monotonic()
        manifest = seed(scale=scale, out=Path(out), progress=progress)
        counts = ", ".join(f"{name} {value:,}" for name, value in manifest["counts"].items())
        self.stdout.write(self.style.SUCCESS(f"Seeded {scale} in {time.monotonic() - started:.1f}s: {counts}"))

"""`make soak`: the long bank run (default 10 minutes, a fault every 45 s cycling through every
kind), then the hostile-client run (`reliability.hostile`, rate limits on), each on a scratch
database created next to DATABASE_URL's and dropped afterwards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wemaster python -m reliability.soak --minutes 10
    ... python -m reliability.soak --part hostile --attack-seconds 120

Prints the figures and writes them as JSON (var/reliability/soak.json); exits 1 on any problem."""

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent


def scratch_database(admin_url: str) -> tuple[str, str]:
    parts = urlsplit(admin_url)
    name = f"{parts.path.lstrip('/') or 'wemaster'}_soak_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(parts._replace(path=f"/{name}"))


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--fault-every", type=float, default=45.0)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--part", choices=("bank", "hostile", "both"), default="both")
    parser.add_argument("--attack-seconds", type=float, default=120.0)
    parser.add_argument("--report", type=Path, default=ROOT / "var" / "reliability" / "soak.json")
    args = parser.parse_args()
    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith("postgres"):
        print("make soak needs DATABASE_URL pointing at PostgreSQL", file=sys.stderr)
        return 2
    name, url = scratch_database(admin_url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wemaster.settings")
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from reliability.bank import run_bank
        from reliability.hostile import HOSTILE_ENV, HostileConfig, run_hostile
        from reliability.live import LiveSystem
        from reliability.workload import BANK_ENV, Config

        call_command("migrate", verbosity=0)
        report, ok = {}, True
        if args.part in ("bank", "both"):
            config = Config(threads=args.threads, duration=args.minutes * 60)
            with LiveSystem(url, extra_env=BANK_ENV) as system:
                result = run_bank(
                    system, admin_url=admin_url, database=name, config=config, fault_every=args.fault_every
                )
            print(result.summary())
            report["bank"] = {
                "figures": result.verdict.figures,
                "faults": result.per_fault,
                "problems": result.verdict.problems,
            }
            ok = ok and result.verdict.ok
        if args.part in ("hostile", "both"):
            with LiveSystem(url, extra_env=HOSTILE_ENV) as system:
                hostile = run_hostile(system, HostileConfig(attack_seconds=args.attack_seconds))
            print(hostile.summary())
            report["hostile"] = {"figures": hostile.figures, "problems": hostile.problems}
            ok = ok and hostile.ok
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(json.dumps(report, indent=2))
        return 0 if ok else 1
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_database:
            drop_database(admin_url, name)


if __name__ == "__main__":
    sys.exit(main())

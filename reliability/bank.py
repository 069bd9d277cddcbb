"""The bank run: a workload with a fault schedule against a live system, then the checker.
Used by tests/reliability/test_bank.py (short: ~30 s, one fault of each kind) and by
`make soak` (`python -m reliability.soak`, 10 minutes, faults cycling)."""

import json
import time
from dataclasses import dataclass, field

from reliability import faults
from reliability.checker import Verdict, check
from reliability.live import LiveSystem
from reliability.workload import Config, Workload

FAULTS = ("web_worker_kill_after_charge", "web_worker_kill", "celery_kill", "redis_restart", "pg_terminate")


@dataclass
class BankResult:
    verdict: Verdict
    windows: list = field(default_factory=list)
    per_fault: list[dict] = field(default_factory=list)
    wall_time: float = 0.0

    def summary(self) -> str:
        lines = [f"wall time {self.wall_time:.0f} s", *(f"{k}: {v}" for k, v in sorted(self.verdict.figures.items()))]
        lines += [f"fault {row}" for row in self.per_fault]
        return "\n".join([*lines, self.verdict.summary()])


def payouts_in_flight() -> bool:
    from earnings.models import IN_FLIGHT, Withdrawal

    return Withdrawal.objects.filter(status__in=IN_FLIGHT).exists()


def inject(name: str, system: LiveSystem, *, admin_url: str, database: str) -> faults.FaultWindow:
    if name == "web_worker_kill_after_charge":
        return faults.web_worker_kill_after_charge(system)
    if name == "web_worker_kill":
        return faults.web_worker_kill(system)
    if name == "celery_kill":
        return faults.celery_kill(system, in_flight=payouts_in_flight)
    if name == "redis_restart":
        return faults.redis_restart(system)
    if name == "pg_terminate":
        return faults.pg_terminate(system, admin_url, database)
    raise ValueError(name)


def run_bank(
    system: LiveSystem,
    *,
    admin_url: str,
    database: str,
    config: Config,
    fault_names=FAULTS,
    fault_every: float | None = None,
) -> BankResult:
    """Faults are spread evenly over the run (or one every `fault_every` seconds, cycling)."""
    workload = Workload(system.url, system.redis.url, config)
    workload.setup()
    windows = []

    def schedule(running: Workload):
        started = time.monotonic()
        names = list(fault_names)
        if not names:
            return
        every = fault_every or config.duration / (len(names) + 1)
        index = 0
        while True:
            at = started + every * (index + 1)
            if at > started + config.duration - 3:
                return
            if running.stop_event.wait(max(0.0, at - time.monotonic())):
                return
            windows.append(inject(names[index % len(names)], system, admin_url=admin_url, database=database))
            index += 1

    wall = workload.run(during=schedule)
    checked_from = time.monotonic()
    verdict = check(
        workload,
        gateway_report=lambda: json.loads(system.manage("gateway_report", "--json")),
        killed_after_charge=[top_up for window in windows for top_up in window.top_ups],
    )
    operations = workload.history.snapshot()
    per_fault = [
        {
            "fault": w.name,
            "detail": w.detail,
            "seconds": round(w.ended - w.started, 1),
            **faults.failures_in(w, operations),
        }
        for w in windows
    ]
    verdict.figures["faults"] = len(windows)
    verdict.figures["check_seconds"] = round(time.monotonic() - checked_from)
    verdict.figures["worker_restarts_by_supervisor"] = system.managed["worker"].restarts
    return BankResult(verdict, windows, per_fault, wall)

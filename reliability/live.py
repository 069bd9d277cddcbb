"""A live system for reliability runs: the production topology of deploy/Procfile on a free
block of ports, against a given PostgreSQL database and a throwaway Redis.

honcho stops every process as soon as one exits, so the processes a fault kills and restarts
(the Celery worker, the two ASGI processes) run outside it as `ManagedProcess`es started from
the same Procfile lines with the same environment. nginx and granian stay under honcho: a
killed granian worker is respawned by granian itself.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.topology import ROOT, RedisServer, Topology, free_ports, procfile_command, wait_for

MANAGED = ("ws1", "ws2", "worker")
# The live processes connect under this name, so a fault can drop exactly their connections.
APPLICATION_NAME = "wemaster-live"


@dataclass
class ManagedProcess:
    """One Procfile process in its own session, so kill -9 takes its children (the Celery pool) too."""

    name: str
    env: dict
    log_path: Path | None = None
    process: subprocess.Popen | None = None
    restarts: int = 0

    def start(self) -> "ManagedProcess":
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 - owned by Popen
        self.process = subprocess.Popen(
            ["bash", "-c", procfile_command(self.name)],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill9(self) -> None:
        """SIGKILL the whole process group: no shutdown handlers, no acks, like a lost machine."""
        if self.alive:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill9()


@dataclass
class LiveSystem:
    database_url: str
    web_workers: int = 2
    celery_concurrency: int = 2
    extra_env: dict = field(default_factory=dict)
    log_dir: Path = ROOT / "var" / "reliability"
    redis: RedisServer | None = None
    topology: Topology | None = None
    managed: dict[str, ManagedProcess] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return self.topology.url

    @property
    def ws_url(self) -> str:
        return self.topology.url.replace("http://", "ws://")

    def start(self) -> "LiveSystem":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.redis = RedisServer().start()
        env = {
            "WEB_WORKERS": str(self.web_workers),
            "CELERY_CONCURRENCY": str(self.celery_concurrency),
            "RATE_LIMITS": "off",
            "DB_POOL_MIN_SIZE": "1",
            "DB_POOL_MAX_SIZE": "6",
            **self.extra_env,
        }
        separator = "&" if "?" in self.database_url else "?"
        self.topology = Topology(
            f"{self.database_url}{separator}application_name={APPLICATION_NAME}",
            self.redis.url,
            processes=("proxy", "web"),
            extra_env=env,
            log_path=self.log_dir / "topology.log",
            ports=free_ports(),
        )
        try:
            self.topology.start()
            for name in MANAGED:
                self.start_process(name)
            for name in ("ws1", "ws2"):
                wait_for(f"http://127.0.0.1:{self.topology.ports[name]}/healthz", timeout=60)
            wait_for(f"{self.url}/readyz", timeout=30)
            threading.Thread(target=self._supervise, daemon=True).start()
        except Exception:
            self.stop()
            raise
        return self

    def start_process(self, name: str) -> ManagedProcess:
        process = ManagedProcess(name, self.topology.env(), self.log_dir / f"{name}.log").start()
        if name in self.managed:
            process.restarts = self.managed[name].restarts
        self.managed[name] = process
        return process

    def _supervise(self) -> None:
        """What systemd's Restart=always or Kubernetes does: a Celery worker that exits on its own
        (kombu's Redis transport crashes it when the broker connection drops while messages are
        unacknowledged) is started again. Faults stop and restart processes through `managed`,
        under the same lock, so the supervisor never races them."""
        while not self._stopping.wait(0.5):
            with self.lock:
                worker = self.managed.get("worker")
                if worker is not None and worker.process is not None and worker.process.poll() is not None:
                    self.start_process("worker").restarts += 1

    def restart(self, name: str, *, wait: bool = True) -> ManagedProcess:
        self.managed[name].stop()
        process = self.start_process(name)
        if wait and name in ("ws1", "ws2"):
            wait_for(f"http://127.0.0.1:{self.topology.ports[name]}/healthz", timeout=60)
        return process

    def manage(self, *args: str) -> str:
        """Run a management command in the live system's environment (its database and settings);
        returns what it printed."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.topology.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return done.stdout

    def granian_workers(self) -> list[int]:
        """Pids of granian's worker processes (granian processes whose parent is granian's main)."""
        children = psutil.Process(self.topology.process.pid).children(recursive=True)
        return [child.pid for child in children if _is_granian(child) and _is_granian(child.parent())]

    def stop(self) -> None:
        self._stopping.set()
        for process in self.managed.values():
            process.stop()
        if self.topology is not None:
            self.topology.stop()
        if self.redis is not None:
            self.redis.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def _is_granian(process: psutil.Process | None) -> bool:
    try:
        cmdline = process.cmdline() if process else []
    except psutil.NoSuchProcess:
        return False
    return len(cmdline) > 1 and cmdline[1].endswith("granian")


def wait_until(predicate, *, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()

"""Start and stop the production topology of `deploy/Procfile` (what `make serve` runs) for
benchmarks, fault-injection runs and cross-process tests.

Each run gets its own Redis server on a free port (so a test may kill it without touching
the machine's Redis) and the PostgreSQL database it is given, and its own fresh Prometheus
multiprocess directory and metrics token (`metrics_dir`, `metrics_token`), as `make serve` does.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PUBLIC_URL = "http://127.0.0.1:8000"
PORTS = {"proxy": 8000, "web": 8001, "ws1": 8002, "ws2": 8003}
# deploy/Procfile reads each process's port from these variables.
PORT_VARIABLES = {"proxy": "SERVE_PORT", "web": "SERVE_WEB_PORT", "ws1": "SERVE_WS1_PORT", "ws2": "SERVE_WS2_PORT"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PROCFILE = ROOT / "deploy" / "Procfile"


def procfile_command(name: str) -> str:
    """The shell command of one Procfile process (to run it outside honcho, e.g. to kill and restart it)."""
    for line in PROCFILE.read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise KeyError(name)


def free_ports() -> dict[str, int]:
    """A free port for each listening process, so topologies of several runs on one machine
    (engineers, CI, benchmarks) never answer each other's requests."""
    return {name: free_port() for name in PORTS}


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(url: str, *, timeout: float = 60.0, status: int = 200) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == status:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = exc
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer {status} within {timeout}s (last error: {last})")


class RedisServer:
    """A throwaway redis-server on a free port, keeping nothing on disk."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise TimeoutError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Topology:
    database_url: str
    redis_url: str
    processes: tuple[str, ...] = ("proxy", "web", "ws1", "ws2", "worker")
    extra_env: dict = field(default_factory=dict)
    ports: dict = field(default_factory=lambda: dict(PORTS))
    log_path: Path | None = None
    process: subprocess.Popen | None = None
    # Where every process writes its Prometheus series (one fresh directory per start, removed at
    # stop) unless extra_env names one; /metrics merges them.
    metrics_dir: Path | None = None
    _metrics_token: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports['proxy']}"

    @property
    def metrics_token(self) -> str:
        """The bearer token /metrics wants (`Authorization: Bearer <token>`)."""
        return self.extra_env.get("METRICS_TOKEN", self._metrics_token)

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis_url,
            DJANGO_ENV="production",
            DJANGO_SECRET_KEY=env.get("DJANGO_SECRET_KEY") or os.urandom(32).hex(),
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="off",
            SECURE_HSTS_SECONDS="0",
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            PYTHONUNBUFFERED="1",
            METRICS_TOKEN=self._metrics_token,
            **{PORT_VARIABLES[name]: str(port) for name, port in self.ports.items()},
        )
        env.pop("CELERY_TASK_ALWAYS_EAGER", None)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if self.metrics_dir is not None:
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)
        env.update(self.extra_env)
        return env

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['proxy']}"

    def manage(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(), check=True)

    def start(self, *, timeout: float = 90.0) -> "Topology":
        if shutil.which("nginx") is None:
            raise RuntimeError("nginx is missing: run `make system-deps`")
        busy = [
            f"{name} :{self.ports[name]}"
            for name in self.processes
            if name in self.ports and port_in_use(self.ports[name])
        ]
        if busy:
            raise RuntimeError(f"ports already in use (another topology running?): {', '.join(busy)}")
        self.manage("collectstatic", "--noinput", "-v0")
        if self.metrics_dir is None and "PROMETHEUS_MULTIPROC_DIR" not in self.extra_env:
            self.metrics_dir = Path(tempfile.mkdtemp(prefix="wm-metrics-"))
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(BIN / "honcho"), "--app-root", str(ROOT), "--procfile", "deploy/Procfile", "start", *self.processes],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            for name in self.processes:
                if name in self.ports:
                    wait_for(f"http://127.0.0.1:{self.ports[name]}/healthz", timeout=timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.metrics_dir is not None:
            shutil.rmtree(self.metrics_dir, ignore_errors=True)
            self.metrics_dir = None

    def scrape(self, *, url: str | None = None) -> str:
        """The text of /metrics (through the proxy unless `url` says otherwise), with the token."""
        request = urllib.request.Request(url or f"{self.url}/metrics")
        request.add_header("Authorization", f"Bearer {self.metrics_token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read().decode()

    def pids(self, pattern: str) -> list[int]:
        """Pids of this topology's processes whose command line contains `pattern`."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        return [child.pid for child in children if pattern in " ".join(child.cmdline())]

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

"""HTTP load with wrk (C, event loop: not the bottleneck), pinned to its own core when possible."""

import json
import os
import shutil
import subprocess
from pathlib import Path

LUA = Path(__file__).resolve().parent / "lua"


def ensure_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        path = shutil.which("wrk")
    return path


def _pin(command: list[str]) -> list[str]:
    # The load generator takes the last core; the servers share the rest.
    cores = os.cpu_count() or 1
    if cores > 1 and shutil.which("taskset"):
        return ["taskset", "-c", str(cores - 1), *command]
    return command


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 16,
    tokens: list[str] | None = None,
    paths: list[str] | None = None,
    script: str = "report.lua",
    env: dict | None = None,
) -> dict:
    """Run wrk once; returns {requests, rps, p50_ms, p95_ms, p99_ms, errors, non_2xx, ...}."""
    env = dict(
        os.environ,
        WRK_TOKENS=",".join(tokens or []),
        WRK_PATHS=",".join(paths or []),
        WRK_LUA_DIR=str(LUA),
        **(env or {}),
    )
    command = _pin(
        [
            ensure_wrk(),
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA / script),
            url,
        ]
    )
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    for line in result.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            return json.loads(line[len("WRK_JSON ") :])
    raise RuntimeError(f"wrk printed no summary: {result.stdout[-500:]} {result.stderr[-500:]}")


def measure(url: str, *, warmup: float, seconds: float, **kwargs) -> dict:
    """A warm-up run (discarded) followed by the measured run."""
    wrk(url, seconds=warmup, **kwargs)
    return wrk(url, seconds=seconds, **kwargs)

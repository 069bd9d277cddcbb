"""Schemathesis against a live system's /api/schema/, once per role (a student's, a tutor's and a
staff user's token), with every check and every phase (examples, coverage, fuzzing, stateful).
Each run writes a JUnit and a JSON report under `report_dir`."""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ST = Path(sys.executable).parent / "st"


@dataclass
class FuzzResult:
    role: str
    returncode: int
    output: str
    cases: int
    failures: int
    report: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _counts(report: Path) -> tuple[int, int]:
    """(test cases generated, failures) from the NDJSON event stream."""
    cases = failures = 0
    if not report.exists():
        return cases, failures
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished") or {}
        recorder = finished.get("recorder") or {}
        cases += len(recorder.get("cases") or {})
        for checks in (recorder.get("checks") or {}).values():
            failures += sum(1 for check in checks if check.get("status") == "FAILURE")
    return cases, failures


def run(
    base_url: str,
    tokens: dict[str, str],
    *,
    report_dir: Path,
    max_examples: int = 10,
    seed: int = 9,
    workers: int = 2,
    phases: str = "examples,coverage,fuzzing,stateful",
    max_time: float | None = None,
) -> list[FuzzResult]:
    report_dir.mkdir(parents=True, exist_ok=True)
    results = []
    for role, token in tokens.items():
        ndjson = report_dir / f"{role}.ndjson"
        command = [
            str(ST), "run", f"{base_url}/api/schema/",
            "--header", f"Authorization: Token {token}",
            "--checks", "all",
            "--phases", phases,
            "--max-examples", str(max_examples),
            "--seed", str(seed),
            "--workers", str(workers),
            "--request-timeout", "30",
            "--generation-database", "none",
            "--report", "junit,ndjson",
            "--report-junit-path", str(report_dir / f"{role}.xml"),
            "--report-ndjson-path", str(ndjson),
            "--no-color",
        ]  # fmt: skip
        if max_time:
            command += ["--max-time", str(max_time)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        cases, failures = _counts(ndjson)
        results.append(FuzzResult(role, done.returncode, done.stdout + done.stderr, cases, failures, ndjson))
    return results

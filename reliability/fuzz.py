"""Schemathesis against a live system's /api/schema/, once per role (a student's, a tutor's and a
staff user's token), with every check and every phase (examples, coverage, fuzzing, stateful).
Each run writes a JUnit report and the NDJSON event stream under `report_dir`.

`python -m reliability.fuzz` is not provided: tests/reliability/test_fuzz.py drives it."""

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ST = Path(sys.executable).parent / "st"
# Operations that revoke the fuzzing token itself (logout; deleting a token, whose id the fuzzer
# may guess): every operation after them would run unauthenticated. Their tests are in tests/accounts.
SELF_REVOKING = r"^/api/v1/auth/(logout|tokens/\{[^}]+\})$"


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


_SUMMARY = re.compile(r"(\d+) generated(?:, (\d+) found (\d+) unique failures)?")


def _counts(output: str) -> tuple[int, int]:
    """(test cases generated, unique failures) from the run's summary line."""
    match = _SUMMARY.search(output)
    if not match:
        return 0, 0
    return int(match.group(1)), int(match.group(3) or 0)


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
    exclude_checks: tuple[str, ...] = (),
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
            "--exclude-path-regex", SELF_REVOKING,
        ]  # fmt: skip
        if exclude_checks:
            command += ["--exclude-checks", ",".join(exclude_checks)]
        if max_time:
            command += ["--max-time", str(max_time)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=900)
        cases, failures = _counts(done.stdout)
        results.append(FuzzResult(role, done.returncode, done.stdout + done.stderr, cases, failures, ndjson))
    return results

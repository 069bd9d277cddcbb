"""Secrets come only from the environment (issue #9, part 7): no key, token or password is
hard-coded in the repository, apart from the documented demo password and test constants."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Documented exceptions: the demo users' password (README, seed) and throwaway test constants.
ALLOWED = {
    "wemaster/accounts/seed.py": {"wemaster-demo-2026"},
    "tests/accounts/factories.py": {"correct-horse-battery-staple"},
    "reliability/workload.py": {"reliability-Workload-9!"},
    "wemaster/settings/development.py": {"development-only-insecure-key-do-not-deploy"},  # the development key
    "wemaster/settings/base.py": {"accounts.DeviceToken"},  # knox's token model (a model label, not a token)
    "bench/seed.py": {"bench-password-2026"},  # every bench user's, documented in README
}
ASSIGNMENT = re.compile(
    r"""(?ix)\b([a-z_]*(?:secret|password|passwd|api_key|apikey|token|private_key|access_key)[a-z_]*)\b
        \s*[:=]\s*(?:[a-z_]+\()?\s*['"]([^'"\s]{8,})['"]"""
)
KEY_SHAPES = re.compile(
    r"(AKIA[0-9A-Z]{16}|sk_live_[0-9a-zA-Z]{16,}|-----BEGIN (?:RSA |EC )?PRIVATE KEY-----"
    r"|ghp_[0-9A-Za-z]{36}|xox[bp]-[0-9A-Za-z-]{20,})"
)
SCANNED = (".py", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".conf", ".env", ".sh", ".md", "Procfile", "Makefile")


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [name for name in listed.splitlines() if name.endswith(SCANNED) and "/migrations/" not in name]


def findings(root: Path = ROOT, names: list[str] | None = None) -> list[str]:
    found = []
    for name in tracked_files() if names is None else names:
        path = root / name
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        found += [f"{name}: key-shaped string {m.group(1)[:12]}…" for m in KEY_SHAPES.finditer(text)]
        if not name.endswith(".py"):
            continue
        for match in ASSIGNMENT.finditer(text):
            variable, value = match.groups()
            if value in ALLOWED.get(name, set()) or name.startswith("tests/"):
                continue
            if value.startswith(("tok_", "btok_", "Token ", "HTTP_", "wemaster.", "django.", "rest_framework.")):
                continue  # sandbox gateway tokens, header names, dotted import paths
            found.append(f"{name}: {variable} = {value[:4]}…")
    return found


def test_no_hard_coded_secrets():
    assert findings() == []


def test_the_scanner_finds_a_planted_secret(tmp_path):
    (tmp_path / "settings_local.py").write_text(
        'STRIPE_API_KEY = "sk_' + 'live_0123456789abcdefghij"\nDB_PASSWORD = "hunter2hunter2"\n'
    )
    assert len(findings(tmp_path, ["settings_local.py"])) == 3


def test_production_reads_the_secret_key_from_the_environment_only():
    settings_text = (ROOT / "wemaster" / "settings" / "production.py").read_text()
    assert 'SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")' in settings_text

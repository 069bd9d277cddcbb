"""The deploy/prometheus/ and deploy/grafana/ files as the tests read them, and a throwaway
Prometheus server (Debian's binary) scraping a live topology with the real alert rules."""

import json
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench.topology import ROOT, free_port, wait_for

PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "alerts.yml"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
DASHBOARD = ROOT / "deploy" / "grafana" / "wemaster.json"
OPERATIONS = ROOT / "docs" / "OPERATIONS.md"


def alert_rules() -> list[dict]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every query of the dashboard."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [(panel["title"], target["expr"]) for panel in panels for target in panel.get("targets", [])]


def grafana_to_promql(expr: str, rate_interval: str = "1m") -> str:
    """A dashboard query as plain PromQL: Grafana's $__rate_interval replaced."""
    return expr.replace("$__rate_interval", rate_interval)


_LABEL_LISTS = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_SELECTORS = re.compile(r"\{[^}]*\}|\[[^\]]*\]|\"[^\"]*\"")
_NAME = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan"}


def series_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (label matchers, ranges, label lists and
    function names left out)."""
    stripped = _SELECTORS.sub(" ", _LABEL_LISTS.sub(" ", expr))
    return {name for name in _NAME.findall(stripped) if name.lower() not in _KEYWORDS and not name[0].isdigit()}


def rules_without_waiting(source: Path = RULES) -> str:
    """The alert rules with every `for:` at 0s: a live test sees an alert fire at the first
    evaluation its condition holds, instead of minutes later."""
    document = yaml.safe_load(source.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                rule["for"] = "0s"
    return yaml.safe_dump(document, sort_keys=False)


@dataclass
class PrometheusServer:
    """Debian's prometheus with a config of its own: scrape `target` every second (its /metrics,
    with `token`) and evaluate the rules every second."""

    target: str
    token: str
    rules: str
    port: int = field(default_factory=free_port)
    directory: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="wm-prometheus-")))
    log_path: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "PrometheusServer":
        (self.directory / "token").write_text(self.token)
        (self.directory / "alerts.yml").write_text(self.rules)
        config = yaml.safe_load(CONFIG.read_text())
        config["global"].update(scrape_interval="1s", scrape_timeout="1s", evaluation_interval="1s")
        config.pop("alerting", None)
        [job] = config["scrape_configs"]
        job["authorization"]["credentials_file"] = str(self.directory / "token")
        job["static_configs"] = [{"targets": [self.target]}]
        (self.directory / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115 - owned by Popen
        self.process = subprocess.Popen(
            [
                shutil.which("prometheus"),
                f"--config.file={self.directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(f"{self.url}/-/ready", timeout=30)
        return self

    def api(self, path: str, **params) -> dict:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def alerts(self, name: str, state: str = "firing") -> list[dict]:
        return [
            alert
            for alert in self.api("alerts")["alerts"]
            if alert["labels"]["alertname"] == name and alert["state"] == state
        ]

    def wait(self, predicate, *, timeout: float, interval: float = 0.25):
        """Poll until `predicate()` returns something truthy; returns it (or the last falsy value)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

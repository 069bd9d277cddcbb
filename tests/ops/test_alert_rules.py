"""Alerts and dashboards as code (deploy/prometheus/, deploy/grafana/): promtool accepts the rules
and their unit tests pass (what `make check-alerts` runs), every alert is complete and tested both
ways, and every series the rules and the dashboard name is one the application exports."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.ops.prometheus import (
    CONFIG,
    OPERATIONS,
    RULE_TESTS,
    RULES,
    alert_rules,
    dashboard_queries,
    grafana_to_promql,
    series_names,
)
from wemaster.core import metrics_collectors

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is missing: `make system-deps` installs Debian's prometheus package"
)
# Series Prometheus makes itself, not the application.
PROMETHEUS_SERIES = {"up"}


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


@needs_promtool
def test_promtool_accepts_the_rules_and_the_scrape_config():
    for args in (("check", "rules", str(RULES)), ("check", "config", "--syntax-only", str(CONFIG))):
        checked = promtool(*args)
        assert checked.returncode == 0, checked.stdout + checked.stderr


@needs_promtool
def test_the_alert_rule_unit_tests_pass():
    tested = promtool("test", "rules", *map(str, RULE_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert tested.stdout.count("SUCCESS") == len(RULE_TESTS)


@needs_promtool
def test_a_broken_rule_fails_its_unit_tests(tmp_path):
    """The unit tests can fail: the breaker alert waiting for a fully open breaker misses the
    half-open probe that its test feeds it."""
    rules = RULES.read_text().replace("wemaster_cache_breaker_state) >= 1", "wemaster_cache_breaker_state) >= 2")
    assert rules != RULES.read_text()
    (tmp_path / "alerts.yml").write_text(rules)
    (tmp_path / "tests").mkdir()
    cache_tests = next(path for path in RULE_TESTS if path.name == "cache.yml")
    (tmp_path / "tests" / "cache.yml").write_text(cache_tests.read_text())
    tested = promtool("test", "rules", str(tmp_path / "tests" / "cache.yml"))
    assert tested.returncode != 0
    assert "WemasterCacheBreakerOpen" in tested.stdout + tested.stderr


def test_every_alert_has_a_for_a_severity_its_annotations_and_a_runbook_section():
    headings = {
        line.lstrip("#").strip().lower() for line in OPERATIONS.read_text().splitlines() if line.startswith("### ")
    }
    rules = alert_rules()
    assert len(rules) >= 10
    for rule in rules:
        name = rule["alert"]
        assert rule.get("for"), name
        assert rule["labels"]["severity"] in ("page", "ticket"), name
        annotations = rule["annotations"]
        assert annotations["summary"] and annotations["description"], name
        assert annotations["runbook_url"] == f"docs/OPERATIONS.md#{name.lower()}", name
        assert name.lower() in headings, f"docs/OPERATIONS.md has no runbook section '### {name}'"


def test_every_alert_is_unit_tested_firing_and_not_firing():
    fired, quiet = set(), set()
    for path in RULE_TESTS:
        document = yaml.safe_load(path.read_text())
        assert document["rule_files"] == ["../alerts.yml"], path
        for test in document["tests"]:
            for case in test.get("alert_rule_test", []):
                (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - fired == set(), "alerts never shown firing"
    assert names - quiet == set(), "alerts never shown staying quiet"


def _exported_names() -> set[str]:
    """Every series name the application can export: the registered metrics (labelled ones too,
    before their first sample) and what each scrape-time collector yields."""
    names = set(REGISTRY._names_to_collectors)
    readings = {
        metrics_collectors.celery_queues: {"celery": 3},
        metrics_collectors.database: {
            "intents": [("top_up", "pending", 1, 0, 5.0)],
            "connections": [("active", 2)],
            "max_connections": 100,
        },
        metrics_collectors.processes: [(1, "web", 1.5, 1024)],
    }
    for collector, reading in readings.items():
        for family in collector.families(reading):
            names.update(sample.name for sample in family.samples)
    names.add("wemaster_collector_up")
    return names


def test_rules_and_dashboard_name_only_series_the_application_exports():
    exported = _exported_names() | PROMETHEUS_SERIES
    expressions = [(rule["alert"], rule["expr"]) for rule in alert_rules()] + dashboard_queries()
    unknown = {
        (where, name) for where, expr in expressions for name in series_names(grafana_to_promql(expr)) - exported
    }
    assert unknown == set()
    # The check itself can fail: a misspelt series is caught.
    assert series_names("sum(rate(wemaster_cache_request_total[5m]))") - exported == {"wemaster_cache_request_total"}


@needs_promtool
def test_every_dashboard_query_is_valid_promql():
    """promtool parses each query of the dashboard as a recording rule (Grafana's variables filled in)."""
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{index}", "expr": grafana_to_promql(expr)}
                    for index, (_, expr) in enumerate(dashboard_queries())
                ],
            }
        ]
    }
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "dashboard.yml"
        path.write_text(yaml.safe_dump(rules))
        checked = promtool("check", "rules", str(path))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    titles = {title for title, _ in dashboard_queries()}
    for headline in (
        "Response time (all views)",
        "DB time per request",
        "Queries per request",
        "Cache hit ratio",
        "CPU by role",
        "DB connections",
        "Circuit breaker",
        "Websocket connections",
    ):
        assert headline in titles

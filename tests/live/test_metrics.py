"""/metrics of the production topology: one scrape answers for every process (both granian
workers, both daphne processes, the Celery worker), and only to a scraper with the token."""

import asyncio
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import websockets
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PING_REQUESTS = "django_http_requests_total_by_view_transport_method_total"


def _value(text: str, name: str, **labels) -> float:
    """The sum of the samples of `name` whose labels include `labels` (0 when there are none)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def _pings_per_process(metrics_dir: Path) -> dict[str, float]:
    """Pings counted in each process' own file, before /metrics merges them."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        counts[path.stem] = sum(
            sample.value
            for family in MultiProcessCollector.merge([str(path)], accumulate=False)
            for sample in family.samples
            if sample.name == PING_REQUESTS and sample.labels.get("view") == "ping"
        )
    return counts


def _status(url: str, headers: dict) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _wait_for_value(live, expected: float, name: str, timeout: float = 15.0, **labels) -> float:
    deadline = time.monotonic() + timeout
    while True:
        value = _value(live.topology.scrape(), name, **labels)
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_metrics_through_the_proxy_need_the_bearer_token(live):
    url = f"{live.base_url}/metrics"
    assert _status(url, {}) == 401
    assert _status(url, {"Authorization": "Bearer not-the-token"}) == 403
    assert _status(url, {"Authorization": f"Token {live.topology.metrics_token}"}) == 401
    assert _status(url, {"Authorization": f"Bearer {live.topology.metrics_token}"}) == 200


def test_every_request_is_counted_whichever_granian_worker_served_it(live):
    requests = 400
    before_text, before_files = live.topology.scrape(), _pings_per_process(live.topology.metrics_dir)

    def ping(_):
        with urllib.request.urlopen(f"{live.base_url}/api/v1/ping", timeout=10) as response:
            return response.status

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(ping, range(requests))) == {200}
    after_text, after_files = live.topology.scrape(), _pings_per_process(live.topology.metrics_dir)

    assert _value(after_text, PING_REQUESTS, view="ping") - _value(before_text, PING_REQUESTS, view="ping") == requests
    served = {pid: after_files[pid] - before_files.get(pid, 0) for pid in after_files}
    assert sum(served.values()) == requests
    assert len([pid for pid, count in served.items() if count]) >= 2, served  # both workers took some
    # Every request (the first scrape too, whose own count lands after it answered) observed its SQL.
    observed = _value(after_text, "wemaster_http_request_db_queries_count") - _value(
        before_text, "wemaster_http_request_db_queries_count"
    )
    assert observed == requests + 1


async def _open_sockets(live, body):
    data = live.data
    urls = [
        f"ws://127.0.0.1:{live.topology.ports[name]}/ws/chat/?token={data[user]['token']}"
        for name, user in (("ws1", "alice"), ("ws2", "bob"))
    ]
    async with (
        websockets.connect(urls[0], origin=live.base_url) as alice,
        websockets.connect(urls[1], origin=live.base_url) as bob,
    ):
        for socket in (alice, bob):  # the pong comes after connect() finished, so both are counted
            await socket.send(json.dumps({"type": "ping"}))
            async with asyncio.timeout(10):
                while json.loads(await socket.recv())["type"] != "pong":
                    pass
        return await asyncio.to_thread(body)


def test_open_websockets_are_summed_over_both_asgi_processes(live):
    gauge = "wemaster_websocket_connections"
    baseline = _wait_for_value(live, 0, gauge)
    while_open = asyncio.run(_open_sockets(live, lambda: _wait_for_value(live, baseline + 2, gauge)))
    assert while_open == baseline + 2
    assert _wait_for_value(live, baseline, gauge) == baseline


def test_every_process_of_the_topology_writes_into_the_merged_directory(live):
    """The scrape lists each process that wrote series: both granian workers, both daphne
    processes and the Celery worker (its pool children too once they ran a task)."""
    roles = {}
    for family in text_string_to_metric_families(live.topology.scrape()):
        for sample in family.samples:
            if sample.name == "wemaster_process_cpu_seconds_total":
                roles.setdefault(sample.labels["role"], set()).add(sample.labels["pid"])
    assert len(roles["web"]) == 2
    assert len(roles["websocket"]) == 2
    assert len(roles["worker"]) >= 1

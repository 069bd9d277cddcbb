"""Redis with Sentinel, RabbitMQ: the topologies these tests start themselves.

`scale_full` scenarios run only with SCALE_FULL=1 (`make scale-test`); the rest is the fast
subset every `make test` runs. Each skips with its reason when redis-server or RabbitMQ is
missing."""

import os
import shutil
import socket
import subprocess
import uuid

import pytest

from tests.scale.redis_sentinel import SentinelTopology, sentinel_topology_or_skip

RABBITMQ_HOST, RABBITMQ_PORT = "127.0.0.1", 5672


def pytest_runtest_setup(item):
    if item.get_closest_marker("scale_full") and os.environ.get("SCALE_FULL") != "1":
        pytest.skip("long scale scenario: set SCALE_FULL=1 (make scale-test) to run it")


@pytest.fixture(scope="module")
def sentinel_topology():
    """Master + replica + three sentinels, once per module."""
    topology = sentinel_topology_or_skip()
    yield topology
    topology.stop()


@pytest.fixture
def topology(sentinel_topology: SentinelTopology):
    """The module's topology, given back to the next test with a master and a healthy replica
    whatever this test killed or paused."""
    yield sentinel_topology
    for node in sentinel_topology.nodes:
        node.resume()
    for node in sentinel_topology.nodes:
        if not node.alive:
            sentinel_topology.restart_as_replica(node)


def _rabbitmq_listening() -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((RABBITMQ_HOST, RABBITMQ_PORT)) == 0


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def rabbitmq_url():
    """An amqp:// URL on a vhost of this run's own (created, then deleted with its queues)."""
    if shutil.which("rabbitmqctl") is None or not _rabbitmq_listening():
        pytest.skip(f"RabbitMQ is not running on {RABBITMQ_HOST}:{RABBITMQ_PORT} (or rabbitmqctl is missing)")
    vhost = f"wemaster_test_{uuid.uuid4().hex[:8]}"
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot create a RabbitMQ vhost with rabbitmqctl: {exc}")
    yield f"amqp://guest:guest@{RABBITMQ_HOST}:{RABBITMQ_PORT}/{vhost}"
    _rabbitmqctl("delete_vhost", vhost)

"""A Redis master, a replica and three sentinels (`redis-server --sentinel`), each a real process
on a free port with its own temporary directory; nothing on the machine is configured or touched.

    topology = SentinelTopology().start()
    topology.environment()          # REDIS_SENTINELS / REDIS_SENTINEL_MASTER for the settings
    killed = topology.kill_master()  # SIGKILL, like a machine that dies
    seconds = topology.wait_for_failover(killed)
    topology.restart_as_replica(killed)  # ready for the next failover
    topology.stop()

Sentinels decide quickly here (`down-after-milliseconds` 1000, `failover-timeout` 2000) so a
failover takes seconds; production keeps longer values (README, "Redis with Sentinel").
"""

import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server")
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 2000
QUORUM = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.05, what: str = "condition") -> float:
    """Seconds it took `predicate()` to become true; TimeoutError after `timeout`."""
    started = time.monotonic()
    while True:
        try:
            if predicate():
                return time.monotonic() - started
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            pass  # a node still starting or just killed: ask again
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


@dataclass
class RedisNode:
    """One redis-server (data node or sentinel) that can be killed and started again on its port."""

    directory: Path
    port: int = field(default_factory=free_port)
    sentinel: bool = False
    password: str = ""
    process: subprocess.Popen | None = None
    paused: bool = False

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def client(self) -> redis.Redis:
        return redis.Redis(
            port=self.port,
            password=self.password or None,
            socket_connect_timeout=0.5,
            socket_timeout=1.0,
            decode_responses=True,
        )

    def start(self, config: str) -> "RedisNode":
        self.directory.mkdir(parents=True, exist_ok=True)
        conf = self.directory / ("sentinel.conf" if self.sentinel else "redis.conf")
        conf.write_text(config)  # a sentinel rewrites its file as it learns the topology
        command = [REDIS_SERVER, str(conf)] + (["--sentinel"] if self.sentinel else [])
        log = (self.directory / "log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.directory)
        log.close()
        wait_until(lambda: self.client().ping(), timeout=10, what=f"redis on {self.port} answering")
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None
        self.paused = False

    def pause(self) -> None:
        """SIGSTOP: the process keeps its sockets but answers nothing (a frozen machine)."""
        self.process.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        if self.paused and self.alive:
            self.process.send_signal(signal.SIGCONT)
        self.paused = False

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _data_config(node: RedisNode, replica_of: RedisNode | None) -> str:
    auth = [f"requirepass {node.password}", f"masterauth {node.password}"] if node.password else []
    lines = auth + [
        f"port {node.port}",
        "bind 127.0.0.1",
        f'dir "{node.directory}"',
        'save ""',
        "appendonly no",
        "repl-diskless-sync yes",
        "repl-diskless-sync-delay 0",
    ]
    if replica_of is not None:
        lines.append(f"replicaof 127.0.0.1 {replica_of.port}")
    return "\n".join(lines) + "\n"


def _sentinel_config(node: RedisNode, master_name: str, master: RedisNode) -> str:
    auth = [f"requirepass {node.password}"] if node.password else []
    if master.password:
        auth.append(f"sentinel auth-pass {master_name} {master.password}")
    if node.password:
        auth.append(f"sentinel sentinel-pass {node.password}")  # the sentinels talk to each other
    return (
        "\n".join(
            [
                *auth,
                f"port {node.port}",
                "bind 127.0.0.1",
                f'dir "{node.directory}"',
                f"sentinel monitor {master_name} 127.0.0.1 {master.port} {QUORUM}",
                f"sentinel down-after-milliseconds {master_name} {DOWN_AFTER_MS}",
                f"sentinel failover-timeout {master_name} {FAILOVER_TIMEOUT_MS}",
                f"sentinel parallel-syncs {master_name} 1",
            ]
        )
        + "\n"
    )


class SentinelTopology:
    """Master + replica + three sentinels monitoring them under a master name unique to the run
    (django-redis keeps its connection pools per URL for the life of the process, and the URL
    carries the master name)."""

    def __init__(self, *, password: str = "", sentinel_password: str = ""):
        self.root = Path(tempfile.mkdtemp(prefix="wemaster-sentinel-"))
        self.master_name = f"wm{uuid.uuid4().hex[:8]}"
        self.password, self.sentinel_password = password, sentinel_password
        self.nodes = [RedisNode(self.root / name, password=password) for name in ("redis-a", "redis-b")]
        self.sentinels = [
            RedisNode(self.root / f"sentinel-{index}", sentinel=True, password=sentinel_password) for index in range(3)
        ]

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> "SentinelTopology":
        master, replica = self.nodes
        master.start(_data_config(master, None))
        replica.start(_data_config(replica, master))
        wait_until(lambda: self._replica_in_sync(replica), timeout=15, what="replica in sync")
        # Started after the replica is in sync, each sentinel's first INFO of the master lists it.
        for sentinel in self.sentinels:
            sentinel.start(_sentinel_config(sentinel, self.master_name, master))
        wait_until(self._sentinels_ready, timeout=20, what="sentinels know each other and the replica")
        return self

    def stop(self) -> None:
        for node in self.sentinels + self.nodes:
            node.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def environment(self, db: int = 0) -> dict[str, str]:
        """The variables that point the settings at this topology."""
        variables = {
            "REDIS_SENTINELS": ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels),
            "REDIS_SENTINEL_MASTER": self.master_name,
            "REDIS_SENTINEL_DB": str(db),
        }
        if self.password:
            variables["REDIS_PASSWORD"] = self.password
        if self.sentinel_password:
            variables["REDIS_SENTINEL_PASSWORD"] = self.sentinel_password
        return variables

    # --- what the sentinels say ----------------------------------------------------------------

    def master_address(self) -> tuple[str, int] | None:
        """The master as a majority of the live sentinels report it (None without a majority)."""
        votes: dict[tuple[str, int], int] = {}
        for sentinel in self.sentinels:
            if not sentinel.alive:
                continue
            try:
                host, port = sentinel.client().sentinel_get_master_addr_by_name(self.master_name)
            except (redis.ConnectionError, redis.TimeoutError, TypeError):
                continue
            votes[(host, int(port))] = votes.get((host, int(port)), 0) + 1
        for address, count in votes.items():
            if count >= QUORUM:
                return address
        return None

    def master(self) -> RedisNode:
        address = self.master_address()
        return next(node for node in self.nodes if node.address == address)

    def replica(self) -> RedisNode:
        """A node that is not the current master."""
        master = self.master()
        return next(node for node in self.nodes if node is not master)

    def _replica_in_sync(self, replica: RedisNode) -> bool:
        info = replica.client().info("replication")
        return info.get("role") == "slave" and info.get("master_link_status") == "up"

    def _sentinels_ready(self) -> bool:
        master = self.master()
        replicas = [node for node in self.nodes if node is not master]
        for sentinel in self.sentinels:
            state = sentinel.client().sentinel_master(self.master_name)
            if int(state["num-other-sentinels"]) < len(self.sentinels) - 1:
                return False
            known = {
                (row["ip"], int(row["port"]))
                for row in sentinel.client().sentinel_slaves(self.master_name)
                if "s_down" not in row["flags"] and row.get("master-link-status") == "ok"
            }
            if not all(replica.address in known for replica in replicas):
                return False
        return True

    # --- faults ----------------------------------------------------------------------------------

    def kill_master(self) -> RedisNode:
        """SIGKILL the current master; returns its node (dead until `restart_as_replica`)."""
        master = self.master()
        master.kill()
        return master

    def wait_for_failover(self, killed: RedisNode, timeout: float = 30.0) -> float:
        """Seconds until a majority of sentinels names a new master that says it is one."""

        def promoted() -> bool:
            address = self.master_address()
            if address is None or address == killed.address:
                return False
            node = next(node for node in self.nodes if node.address == address)
            return node.client().info("replication").get("role") == "master"

        return wait_until(promoted, timeout=timeout, what="failover")

    def restart_as_replica(self, node: RedisNode) -> float:
        """Start a killed node again as a replica of the current master; seconds until the
        sentinels count it as a healthy replica (so the next failover has a target)."""
        started = time.monotonic()
        node.start(_data_config(node, self.master()))
        wait_until(lambda: self._replica_in_sync(node), timeout=20, what="restarted replica in sync")
        wait_until(self._sentinels_ready, timeout=30, what="sentinels see the restarted replica")
        return time.monotonic() - started


def sentinel_topology_or_skip(**passwords: str) -> SentinelTopology:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server; .ci/run has it)")
    return SentinelTopology(**passwords).start()

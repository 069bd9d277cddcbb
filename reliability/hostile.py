"""The hostile-client workload: attackers and one normal client against the production topology.

A normal client (its own loopback address, a valid token) reads the cached tutor directory and
its own profile at a steady pace, first alone (the baseline) and then while attackers, each from
a loopback address of its own, run every attack of the hostile-client findings at once:

- `huge_tokens`: `Authorization: Token <4 KiB>` and `<500 KiB>` headers, and well-formed but
  unknown tokens, each one new;
- `forged_logins`: wrong passwords for one account with a new forged `X-Forwarded-For` each time;
- `search_flood`: full-text searches that match nothing, as fast as answers come, several at once;
- `cache_keys`: the tutor directory and post lists with a new `?subject=` / `?tag=` each time;
- `socket_flood`: one user opening sockets as fast as it can;
- `slow_readers`: sockets replaying a long history with `?since=0` that never read.

The report: Redis memory and the RSS of the web and websocket processes before and after, the
normal client's p50/p99 alone and under attack, every 5xx seen by anyone, and how each attack was
answered. `problems` lists what breaks a bound (0 5xx, the normal client never refused, bounded
memory, the socket cap and the login limit held); the normal client's p99 under attack against 2x
its p99 alone is a goal the report states (`normal_p99_goal_met`), measured, not asserted.

Every address is in 127.0.0.0/8, which Linux routes to loopback: nginx sees each attacker as its
own client, as it would on the internet.
"""

import asyncio
import json
import secrets
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psutil
import redis
import requests
import websockets
from requests.adapters import HTTPAdapter

NORMAL_ADDRESS = "127.0.0.2"
# Rate limits on, as in production; nginx (127.0.0.1) is the one trusted proxy hop.
HOSTILE_ENV = {"RATE_LIMITS": "on", "TRUSTED_PROXIES": "127.0.0.1"}
MiB = 1024 * 1024


class SourceAddressAdapter(HTTPAdapter):
    """Connects from a chosen local address (a distinct client as nginx sees it)."""

    def __init__(self, address: str, **kwargs):
        self.address = address
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    session = requests.Session()
    adapter = SourceAddressAdapter(address, pool_maxsize=16)
    session.mount("http://", adapter)
    return session


@dataclass
class Limits:
    """The bounds the run is judged by."""

    p99_ratio: float = 2.0
    redis_growth_mib: float = 64.0
    process_growth_mib: float = 150.0
    max_sockets_per_user: int = 10
    login_attempts_per_minute: int = 10  # RATE_LOGIN_ACCOUNT's default: the forged addresses share one account


@dataclass
class HostileConfig:
    baseline_seconds: float = 20.0
    attack_seconds: float = 40.0
    normal_rate: float = 20.0  # requests/s of the normal client
    history_messages: int = 2000
    history_body_chars: int = 5000
    slow_readers: int = 80
    flood_sockets: int = 300
    search_threads: int = 3
    login_threads: int = 1  # each wrong password is a full hash: more senders reach the limit sooner
    # Requests per second of each attack (per thread): the findings' rates, not a volume flood,
    # which is the network edge's to absorb. Each is well above what a person would send.
    attack_rates: dict = field(
        default_factory=lambda: {"huge_tokens": 30.0, "forged_logins": 5.0, "search_flood": 3.0, "cache_keys": 20.0}
    )
    limits: Limits = field(default_factory=Limits)


@dataclass
class HostileResult:
    figures: dict
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = ["hostile clients:"]
        lines += [f"  {name}: {value}" for name, value in self.figures.items()]
        lines += [f"  PROBLEM: {problem}" for problem in self.problems] or ["  no problems"]
        return "\n".join(lines)


class Tally:
    """Statuses per attack, thread-safe; 5xx counted wherever they come from."""

    def __init__(self):
        self._lock = threading.Lock()
        self.by_attack: dict[str, Counter] = {}

    def add(self, attack: str, status) -> None:
        with self._lock:
            self.by_attack.setdefault(attack, Counter())[str(status)] += 1

    def server_errors(self) -> int:
        return sum(
            count
            for counter in self.by_attack.values()
            for status, count in counter.items()
            if status.isdigit() and int(status) >= 500
        )

    def as_dict(self) -> dict:
        with self._lock:
            return {attack: dict(sorted(counter.items())) for attack, counter in self.by_attack.items()}


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class HostileRun:
    def __init__(self, system, config: HostileConfig):
        self.system = system
        self.config = config
        self.url = system.url
        self.ws_url = system.ws_url
        self.tally = Tally()
        self.stop = threading.Event()
        self._address = 10

    # --- set-up -----------------------------------------------------------------------------

    def next_address(self) -> str:
        self._address += 1
        return f"127.0.0.{self._address}"

    def register(self, role: str) -> tuple[int, str]:
        session = session_from(self.next_address())
        email = f"hostile-{role}-{secrets.token_hex(4)}@example.com"
        body = {"email": email, "password": "hostile-pass-2026", "role": role, "display_name": f"Hostile {role}"}
        answer = session.post(f"{self.url}/api/v1/auth/register", json=body, timeout=10)
        answer.raise_for_status()
        data = answer.json()
        return data["id"], data["token"]

    def setup(self) -> None:
        self.normal_id, self.normal_token = self.register("student")
        self.victim_id, self.victim_token = self.register("student")
        self.flooder_id, self.flooder_token = self.register("student")
        self.login_email = f"hostile-login-{secrets.token_hex(4)}@example.com"
        session_from(self.next_address()).post(
            f"{self.url}/api/v1/auth/register",
            json={"email": self.login_email, "password": "right-pass-2026", "role": "student", "display_name": "L"},
            timeout=10,
        ).raise_for_status()
        self.fill_history()

    def fill_history(self) -> None:
        """A long history for the slow readers: messages written straight through the service."""
        script = (
            "from django.contrib.auth import get_user_model\n"
            "from messaging import services\n"
            "User = get_user_model()\n"
            f"victim = User.objects.get(pk={self.victim_id}); friend = User.objects.get(pk={self.normal_id})\n"
            "conversation, _ = services.conversation_create(creator=friend, participant_ids=[victim.pk])\n"
            f"for index in range({self.config.history_messages}):\n"
            f"    services.message_send(sender=friend, conversation_id=conversation.pk, "
            f"body=str(index).ljust({self.config.history_body_chars}, 'x'))\n"
        )
        self.system.manage("shell", "-c", script)

    # --- measurements -------------------------------------------------------------------------

    def redis_used(self) -> int:
        return redis.Redis.from_url(self.system.redis.url).info("memory")["used_memory"]

    def process_rss(self) -> dict[str, int]:
        """RSS per process kind: the granian workers (largest) and each daphne process."""
        rss = {}
        workers = [psutil.Process(pid).memory_info().rss for pid in self.system.granian_workers()]
        rss["web_worker_max"] = max(workers) if workers else 0
        for name in ("ws1", "ws2"):
            process = self.system.managed[name].process
            tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
            rss[name] = max(member.memory_info().rss for member in tree)
        return rss

    # --- the normal client --------------------------------------------------------------------

    def normal_client(self, seconds: float) -> list[float]:
        session = session_from(NORMAL_ADDRESS)
        headers = {"Authorization": f"Token {self.normal_token}"}
        latencies = []
        interval = 1.0 / self.config.normal_rate
        deadline = time.monotonic() + seconds
        paths = ["/api/v1/tutors", "/api/v1/me"]
        index = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                answer = session.get(f"{self.url}{paths[index % 2]}", headers=headers, timeout=15)
                status = answer.status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            latencies.append(time.monotonic() - started)
            self.tally.add("normal", status)
            index += 1
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
        return latencies

    # --- the attacks --------------------------------------------------------------------------

    def _loop(self, attack: str, request, address: str | None = None) -> None:
        session = session_from(address or self.next_address())
        interval = 1.0 / self.config.attack_rates[attack]
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status = request(session).status_code
            except requests.RequestException as exc:
                status = type(exc).__name__
            self.tally.add(attack, status)
            self.stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def huge_tokens(self, session):
        size = secrets.choice([4 * 1024, 500 * 1024, 40])
        token = secrets.token_hex(size // 2)
        return session.get(f"{self.url}/api/v1/me", headers={"Authorization": f"Token {token}"}, timeout=15)

    def forged_logins(self, session):
        forged = f"{secrets.randbelow(223) + 1}.{secrets.randbelow(255)}.{secrets.randbelow(255)}.7"
        return session.post(
            f"{self.url}/api/v1/auth/token",
            json={"email": self.login_email, "password": "wrong-" + secrets.token_hex(4)},
            headers={"X-Forwarded-For": forged},
            timeout=15,
        )

    def search_flood(self, session):
        return session.get(f"{self.url}/api/v1/community/posts", params={"q": secrets.token_hex(6)}, timeout=15)

    def cache_keys(self, session):
        if secrets.randbelow(2):
            return session.get(f"{self.url}/api/v1/tutors", params={"subject": secrets.token_hex(12)}, timeout=15)
        return session.get(f"{self.url}/api/v1/community/posts", params={"tag": secrets.token_hex(12)}, timeout=15)

    async def _socket_flood(self) -> dict:
        """Open `flood_sockets` sockets of one user; count how many are still open at the end."""
        uri = f"{self.ws_url}/ws/chat/?token={self.flooder_token}"
        address = self.next_address()
        sockets = []
        for _ in range(self.config.flood_sockets):
            if self.stop.is_set():
                break
            try:
                sockets.append(await websockets.connect(uri, local_addr=(address, 0), open_timeout=10))
                self.tally.add("socket_flood", 101)
            except (OSError, websockets.WebSocketException) as exc:  # a refused handshake is an answer
                status = getattr(getattr(exc, "response", None), "status_code", None)
                self.tally.add("socket_flood", status or type(exc).__name__)
        await asyncio.sleep(2.0)  # let the cap's closes arrive
        for ws in sockets:  # a closed socket reads its close frame at once
            try:
                await asyncio.wait_for(ws.recv(), timeout=0.05)
            except (TimeoutError, websockets.ConnectionClosed):  # open: times out; closed: raises
                pass
        still_open = sum(1 for ws in sockets if ws.close_code is None)
        for ws in sockets:
            await ws.close()
        return {"opened": len(sockets), "still_open": still_open}

    async def _slow_readers(self) -> int:
        """Sockets that ask for the whole history and never read (their client buffers one frame)."""
        uri = f"{self.ws_url}/ws/chat/?token={self.victim_token}&since=0"
        address = self.next_address()
        sockets = []
        for _ in range(self.config.slow_readers):
            try:
                sockets.append(await websockets.connect(uri, local_addr=(address, 0), max_queue=1, open_timeout=10))
                self.tally.add("slow_readers", 101)
            except (OSError, websockets.WebSocketException) as exc:
                self.tally.add("slow_readers", type(exc).__name__)
        while not self.stop.is_set():
            await asyncio.sleep(0.2)
        for ws in sockets:
            ws.transport.abort()
        return len(sockets)

    def _run_async(self, coroutine, results: dict, name: str) -> None:
        results[name] = asyncio.run(coroutine)

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> HostileResult:
        self.setup()
        time.sleep(1.0)
        redis_before, rss_before = self.redis_used(), self.process_rss()
        baseline = self.normal_client(self.config.baseline_seconds)

        results: dict = {}
        search_address = self.next_address()  # one client searching from several connections
        attackers = [
            threading.Thread(target=self._loop, args=("huge_tokens", self.huge_tokens)),
            *(
                threading.Thread(target=self._loop, args=("forged_logins", self.forged_logins))
                for _ in range(self.config.login_threads)
            ),
            threading.Thread(target=self._loop, args=("cache_keys", self.cache_keys)),
            *(
                threading.Thread(target=self._loop, args=("search_flood", self.search_flood, search_address))
                for _ in range(self.config.search_threads)
            ),
            threading.Thread(target=self._run_async, args=(self._slow_readers(), results, "slow_readers")),
            threading.Thread(target=self._run_async, args=(self._socket_flood(), results, "socket_flood")),
        ]
        for thread in attackers:
            thread.daemon = True
            thread.start()
        attacked = self.normal_client(self.config.attack_seconds)
        redis_peak, rss_peak = self.redis_used(), self.process_rss()
        self.stop.set()
        for thread in attackers:
            thread.join(timeout=60)
        return self.judge(baseline, attacked, redis_before, redis_peak, rss_before, rss_peak, results)

    def judge(self, baseline, attacked, redis_before, redis_peak, rss_before, rss_peak, results) -> HostileResult:
        limits = self.config.limits
        tallies = self.tally.as_dict()
        figures = {
            "normal_p50_ms_alone": round(statistics.median(baseline) * 1000, 1),
            "normal_p99_ms_alone": round(percentile(baseline, 0.99) * 1000, 1),
            "normal_p50_ms_attacked": round(statistics.median(attacked) * 1000, 1),
            "normal_p99_ms_attacked": round(percentile(attacked, 0.99) * 1000, 1),
            "redis_used_mib_before": round(redis_before / MiB, 1),
            "redis_used_mib_attacked": round(redis_peak / MiB, 1),
            **{f"rss_mib_before_{name}": round(value / MiB, 1) for name, value in rss_before.items()},
            **{f"rss_mib_attacked_{name}": round(value / MiB, 1) for name, value in rss_peak.items()},
            "server_errors": self.tally.server_errors(),
            "answers": tallies,
            "socket_flood": results.get("socket_flood"),
            "slow_readers": results.get("slow_readers"),
        }
        problems = []
        if figures["server_errors"]:
            problems.append(f"{figures['server_errors']} answers were 5xx: {json.dumps(tallies)}")
        # A latency figure is a goal the soak reports, not a pass/fail of a run on a shared machine.
        ratio = figures["normal_p99_ms_attacked"] / max(figures["normal_p99_ms_alone"], 1.0)
        figures["normal_p99_ratio"] = round(ratio, 2)
        figures["normal_p99_goal_met"] = ratio <= limits.p99_ratio
        normal_failures = {status: n for status, n in tallies.get("normal", {}).items() if status != "200"}
        if normal_failures:
            problems.append(f"the normal client was refused or failed: {normal_failures}")
        redis_growth = (redis_peak - redis_before) / MiB
        if redis_growth > limits.redis_growth_mib:
            problems.append(f"Redis grew {redis_growth:.0f} MiB (bound {limits.redis_growth_mib:.0f})")
        for name, before in rss_before.items():
            growth = (rss_peak[name] - before) / MiB
            if growth > limits.process_growth_mib:
                problems.append(f"{name} RSS grew {growth:.0f} MiB (bound {limits.process_growth_mib:.0f})")
        flood = results.get("socket_flood") or {}
        if flood.get("still_open", 0) > limits.max_sockets_per_user:
            problems.append(f"one user kept {flood['still_open']} sockets open (cap {limits.max_sockets_per_user})")
        # The login limit is per minute: a run of a minute or more may see it admit again.
        allowed = limits.login_attempts_per_minute * (1 + self.config.attack_seconds / 60)
        wrong_answers = tallies.get("forged_logins", {}).get("400", 0)
        if wrong_answers > allowed:
            problems.append(
                f"{wrong_answers} wrong passwords were checked despite forged addresses (limit {allowed:.0f})"
            )
        return HostileResult(figures=figures, problems=problems)


def run_hostile(system, config: HostileConfig | None = None) -> HostileResult:
    return HostileRun(system, config or HostileConfig()).run()

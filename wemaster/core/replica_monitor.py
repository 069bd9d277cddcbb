"""Background probe of the read replicas: reachable, WAL replayed, lag (docs/ARCHITECTURE.md, Read replicas).

One daemon thread per replica alias and process, started by the first read that could use a
replica (or by `/readyz`), measures every `DATABASE_REPLICA_PROBE_INTERVAL` seconds, through
connections of its own whose waits are bounded by `DATABASE_REPLICA_TIMEOUT`:
1. the primary's WAL position `pg_current_wal_lsn()`, kept with the time it was read;
2. the replica's replayed position `pg_last_wal_replay_lsn()` and the age of its last
   replayed commit `clock_timestamp() - pg_last_xact_replay_timestamp()`.

Lag: 0 when the replica has replayed what the primary had written at step 1. Otherwise the
smaller of two upper bounds of how old the replica's view is: the time since the primary was
last seen at a position the replica has replayed (from the samples of step 1, kept for
`HISTORY_SECONDS`), and the age of its last replayed commit. With neither (a replica behind
everything seen so far that replayed no commit yet) the lag is unknown and the replica unused.

Requests never probe: the router reads the states published here (immutable snapshots). A
state older than `stale_after()` counts as unknown, so a stuck probe cannot keep a paused
replica in use. A read that finds a replica's connection dead marks it down at once
(`mark_down`); only a probe started after that mark can bring it back, and it first checks
the pooled connections (a restarted server left them all dead). An alias that is not
in recovery (a test mirror of the primary) counts as fully caught up.
"""

import itertools
import logging
import os
import threading
import time
from collections import deque
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from wemaster.core import metrics

logger = logging.getLogger(__name__)

PRIMARY = DEFAULT_DB_ALIAS
HISTORY_SECONDS = 120.0

PRIMARY_POSITION_SQL = "SELECT pg_current_wal_lsn()::text"
REPLICA_POSITION_SQL = (
    "SELECT pg_is_in_recovery(),"
    " (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text,"
    " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8"
)


def parse_lsn(text: str | None) -> int | None:
    """'16/B374D848' -> the WAL position as an integer (comparable, subtractable)."""
    if not text:
        return None
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def format_lsn(position: int | None) -> str | None:
    if position is None:
        return None
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


@dataclass(frozen=True)
class ReplicaState:
    alias: str
    up: bool
    replay_lsn: int | None  # what the replica had replayed when measured: a lower bound of now
    lag: float | None  # seconds; None when unknown
    measured_at: float  # time.monotonic()
    error: str | None = None
    lag_at_least: float = 0.0  # what is known when `lag` is not

    def as_report(self, now: float) -> dict:
        return {
            "up": self.up,
            "lag_seconds": None if self.lag is None else round(self.lag, 3),
            "replay_lsn": format_lsn(self.replay_lsn),
            "measured_seconds_ago": round(now - self.measured_at, 3),
            "usable": usable(self, now),
            **({"error": self.error} if self.error else {}),
        }


def stale_after() -> float:
    """A state older than this is unknown: a probe cycle takes one interval, plus a timed-out
    query and a timed-out reconnection (libpq waits at least 2 s) when the replica is frozen."""
    return settings.DATABASE_REPLICA_PROBE_INTERVAL + 2 * settings.DATABASE_REPLICA_TIMEOUT + 2.0


def usable(state: "ReplicaState | None", now: float) -> bool:
    return (
        state is not None
        and state.up
        and now - state.measured_at <= stale_after()
        and state.lag is not None
        and state.lag <= settings.DATABASE_REPLICA_MAX_LAG
    )


class PrimaryHistory:
    """The primary's WAL positions with the time each was read, oldest first."""

    def __init__(self):
        self._lock = threading.Lock()
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, at: float, position: int) -> None:
        with self._lock:
            self._samples.append((at, position))
            while self._samples and self._samples[0][0] < at - HISTORY_SECONDS:
                self._samples.popleft()

    def last_seen_at_or_below(self, position: int) -> float | None:
        """The latest time the primary had written no further than `position`: a replica that
        replayed `position` had everything the primary had then."""
        with self._lock:
            for at, seen in reversed(self._samples):
                if seen <= position:
                    return at
        return None

    def span(self, now: float) -> float:
        with self._lock:
            return now - self._samples[0][0] if self._samples else 0.0

    def clear(self) -> None:
        with self._lock:
            self._samples.clear()


def replay_lag(
    *, now: float, primary_lsn: int | None, replay_lsn: int, replay_age: float | None, history: PrimaryHistory
) -> float | None:
    """Seconds of the primary's history the replica has not replayed (an upper bound), 0 when it
    has replayed `primary_lsn`, None when no bound is known (see the module docstring)."""
    if primary_lsn is not None and replay_lsn >= primary_lsn:
        return 0.0
    bounds = []
    seen_at = history.last_seen_at_or_below(replay_lsn)
    if seen_at is not None:
        bounds.append(max(0.0, now - seen_at))
    if replay_age is not None:
        bounds.append(max(0.0, replay_age))
    return min(bounds) if bounds else None


def _connect(alias: str):
    """A connection of the probe's own (not pooled, autocommit, bounded waits) to `alias`."""
    from wemaster.core.replica_backend.deadline import DeadlineConnection

    params = connections[alias].get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    return DeadlineConnection.connect(**params, autocommit=True)


def _recycle_pool(alias: str) -> None:
    """Replace the pooled connections of `alias` that died while it was down (a restarted
    server closed them all): each would otherwise fail one read and mark the replica down again."""
    pool = connections[alias].pool
    if pool is not None and not pool.closed:
        pool.check()


def _close(conn) -> None:
    if conn is not None:
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a dead connection may fail any way; it is gone
            logger.debug("probe connection close failed", exc_info=True)


class ReplicaMonitor:
    def __init__(self):
        self._lock = threading.Lock()
        self._states: dict[str, ReplicaState] = {}
        self._marked_down: dict[str, float] = {}
        self._history = PrimaryHistory()
        self._threads: dict[str, threading.Thread] = {}
        self._stop = threading.Event()
        self._first = threading.Event()
        self._running_pid: int | None = None

    # --- reading (request threads) -------------------------------------------------------------

    def state(self, alias: str) -> ReplicaState | None:
        return self._states.get(alias)

    def report(self) -> dict[str, dict]:
        now = time.monotonic()
        found = {}
        for alias in settings.DATABASE_REPLICA_ALIASES:
            state = self._states.get(alias)
            found[alias] = (
                state.as_report(now)
                if state is not None
                else {"up": False, "lag_seconds": None, "usable": False, "error": "not probed yet"}
            )
        return found

    def wait_first_probe(self, timeout: float) -> None:
        self._first.wait(timeout)

    # --- writing ---------------------------------------------------------------------------------

    def mark_down(self, alias: str, error: str) -> None:
        """A read found the replica's connection dead: unusable until a probe started after now
        succeeds."""
        now = time.monotonic()
        with self._lock:
            self._marked_down[alias] = now
            previous = self._states.get(alias)
            self._states[alias] = ReplicaState(
                alias=alias,
                up=False,
                replay_lsn=previous.replay_lsn if previous else None,
                lag=None,
                measured_at=now,
                error=error,
            )
        metrics.replica_up.labels(alias).set(0)
        logger.warning("read replica marked down", extra={"alias": alias, "error": error})

    def publish(self, state: ReplicaState, *, started: float) -> None:
        with self._lock:
            down_since = self._marked_down.get(state.alias)
            if state.up and down_since is not None:
                if started <= down_since:
                    return  # this probe began before the failure: it proves nothing
                del self._marked_down[state.alias]
            previous = self._states.get(state.alias)
            self._states[state.alias] = state
        if previous is not None and previous.up != state.up:
            log = logger.info if state.up else logger.warning
            log("read replica " + ("up" if state.up else "down"), extra={"alias": state.alias, "error": state.error})
        metrics.replica_up.labels(state.alias).set(1 if state.up else 0)
        metrics.replica_lag.labels(state.alias).set(state.lag if state.lag is not None else state.lag_at_least)
        self._first.set()

    # --- the probe threads -----------------------------------------------------------------------

    def ensure_running(self) -> None:
        """Start this process' probe threads unless they run (cheap: called on the read path)."""
        if self._running_pid == os.getpid():
            return
        with self._lock:
            if self._running_pid == os.getpid():
                return
            # After a fork the parent's threads are gone and their states say nothing of this child.
            self._states.clear()
            self._marked_down.clear()
            self._history.clear()
            self._stop = threading.Event()
            self._first = threading.Event()
            self._threads = {
                alias: threading.Thread(
                    target=self._probe_forever, args=(alias, self._stop), name=f"replica-probe-{alias}", daemon=True
                )
                for alias in settings.DATABASE_REPLICA_ALIASES
            }
            for thread in self._threads.values():
                thread.start()
            self._running_pid = os.getpid()

    def stop(self) -> None:
        """Stop the probe threads and forget every state (tests, settings changes)."""
        with self._lock:
            self._stop.set()
            threads = list(self._threads.values())
            self._threads = {}
            self._running_pid = None
        for thread in threads:
            thread.join(timeout=10)
        with self._lock:
            self._states.clear()
            self._marked_down.clear()
            self._history.clear()
            self._first = threading.Event()

    def _probe_forever(self, alias: str, stop: threading.Event) -> None:
        links = {"primary": None, "replica": None}
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    self.probe(alias, links, started=started)
                except Exception:  # noqa: BLE001 - the probe must outlive any failure it reports
                    logger.exception("replica probe failed", extra={"alias": alias})
                stop.wait(max(0.0, settings.DATABASE_REPLICA_PROBE_INTERVAL - (time.monotonic() - started)))
        finally:
            _close(links["primary"])
            _close(links["replica"])

    def probe(self, alias: str, links: dict, *, started: float) -> ReplicaState:
        """One measurement of `alias` (see the module docstring); `links` keeps the probe's
        connections between calls."""
        primary_lsn = None
        try:
            links["primary"] = links["primary"] or _connect(PRIMARY)
            primary_lsn = parse_lsn(links["primary"].execute(PRIMARY_POSITION_SQL).fetchone()[0])
            self._history.add(time.monotonic(), primary_lsn)
        except Exception as exc:  # noqa: BLE001 - the primary's outage is reported elsewhere (/readyz)
            logger.warning("replica probe: primary position unknown", extra={"error": repr(exc)})
            _close(links["primary"])
            links["primary"] = None
        try:
            links["replica"] = links["replica"] or _connect(alias)
            in_recovery, replay_text, replay_age = links["replica"].execute(REPLICA_POSITION_SQL).fetchone()
        except Exception as exc:  # noqa: BLE001 - any failure means: not usable now
            _close(links["replica"])
            links["replica"] = None
            previous = self._states.get(alias)
            state = ReplicaState(
                alias=alias,
                up=False,
                replay_lsn=previous.replay_lsn if previous else None,
                lag=None,
                measured_at=time.monotonic(),
                error=f"{type(exc).__name__}: {exc}".strip(),
            )
            self.publish(state, started=started)
            return state
        previous = self._states.get(alias)
        if previous is not None and not previous.up:
            _recycle_pool(alias)
        now = time.monotonic()
        replay_lsn = parse_lsn(replay_text)
        if not in_recovery:
            lag = 0.0
        else:
            lag = replay_lag(
                now=now,
                primary_lsn=primary_lsn,
                replay_lsn=replay_lsn or 0,
                replay_age=replay_age,
                history=self._history,
            )
        state = ReplicaState(
            alias=alias,
            up=True,
            replay_lsn=replay_lsn,
            lag=lag,
            measured_at=now,
            lag_at_least=self._history.span(now) if lag is None else lag,
        )
        self.publish(state, started=started)
        return state


monitor = ReplicaMonitor()
_round_robin = itertools.count()


def replica_for_read(aliases: list[str], *, floor: int, preferred: str | None) -> tuple[str | None, str]:
    """A replica usable now that has replayed `floor` (0: any), `preferred` first if it is one;
    else (None, why the primary must answer: "pinned_write", "lag" or "down")."""
    now = time.monotonic()
    candidates = []
    reason = "down"
    for alias in aliases:
        state = monitor.state(alias)
        if state is None or not state.up or now - state.measured_at > stale_after():
            continue
        if state.lag is None or state.lag > settings.DATABASE_REPLICA_MAX_LAG:
            reason = "lag" if reason == "down" else reason
            continue
        if floor and (state.replay_lsn or 0) < floor:
            reason = "pinned_write"
            continue
        candidates.append(alias)
    if not candidates:
        return None, reason
    if preferred in candidates:
        return preferred, ""
    return candidates[next(_round_robin) % len(candidates)], ""

"""A PostgreSQL 15 primary and a streaming replica in temporary directories, for tests.

`PgPair.start()` runs `initdb` for the primary (WAL for a replica, hot standby), starts it on a
free port, creates the database, lets the caller migrate it, then clones a replica with
`pg_basebackup -R` (streaming, `primary_conninfo` written for it) and starts it on another
free port. Nothing outside the temporary directory is touched: both servers listen on
127.0.0.1 and keep their sockets and logs there. Run as root, the servers run as the
`postgres` user (initdb refuses root).

Faults a test may inject, each undone by `heal()`:
- `pause()` / `resume()`: replay paused (`pg_wal_replay_pause()`): the replica answers, stale;
- `delay(ms)`: `recovery_min_apply_delay` (ALTER SYSTEM + reload): every commit replays late;
- `stop_replica()` / `start_replica()`: the server is down, connections are refused;
- `freeze()` / `thaw()`: SIGSTOP/SIGCONT of the replica's postmaster and all its processes:
  the port still accepts connections, nothing answers.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
BINARIES = ("initdb", "pg_ctl", "pg_basebackup", "postgres")
SERVER_USER = "postgres"
DATABASE = "wm_scale"


def missing_binaries() -> str | None:
    """Why the pair cannot start here, or None."""
    missing = [name for name in BINARIES if not (PG_BIN / name).is_file()]
    if missing:
        return f"PostgreSQL binaries missing in {PG_BIN} ({', '.join(missing)}); set PG_BIN"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root needs runuser to start PostgreSQL as the postgres user"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (PostgreSQL's backends, walreceiver, startup process...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class PgServer:
    def __init__(self, root: Path, name: str):
        self.name = name
        self.root = root
        self.data = root / name
        self.log = root / f"{name}.log"
        self.port = free_port()

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stdout}{result.stderr}{log}")
        return result

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def running(self) -> bool:
        return self.run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def url(self, database: str = DATABASE) -> str:
        return f"postgres://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = DATABASE) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SERVER_USER, dbname=database, autocommit=True, connect_timeout=3
        )

    def query(self, sql: str, params=()):
        with self.connect() as conn:
            return conn.execute(sql, params).fetchall()


class PgPair:
    def __init__(self, root: Path):
        self.root = root
        self.primary = PgServer(root, "primary")
        self.replica = PgServer(root, "replica")
        self.frozen = False

    def start(self, migrate) -> None:
        """Primary, database, `migrate(primary_url)`, then the replica cloned from it."""
        if os.geteuid() == 0:
            shutil.chown(self.root, user=SERVER_USER)
        self.primary.run("initdb", "-D", str(self.primary.data), "-U", SERVER_USER, "--auth=trust", "-E", "UTF8")
        settings = {
            "port": self.primary.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "wal_level": "replica",
            "max_wal_senders": 4,
            "hot_standby": "on",
            "max_connections": 100,
            "shared_buffers": "'32MB'",
            "fsync": "off",  # a throwaway cluster: speed over durability
            "full_page_writes": "off",
        }
        with (self.primary.data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        with (self.primary.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host replication {SERVER_USER} 127.0.0.1/32 trust\n")
        self.primary.start()
        with self.primary.connect("postgres") as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        migrate(self.primary.url())
        self.replica.run(
            "pg_basebackup",
            "-D",
            str(self.replica.data),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            SERVER_USER,
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        )
        with (self.replica.data / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {self.replica.port}\n")
        self.replica.start()
        self.wait_caught_up()

    def close(self) -> None:
        self.thaw()
        self.replica.stop("immediate")
        self.primary.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    # --- state -------------------------------------------------------------------------------------

    def primary_position(self) -> str:
        return self.primary.query("SELECT pg_current_wal_lsn()::text")[0][0]

    def replayed(self, position: str) -> bool:
        return self.replica.query("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (position,))[0][0]

    def wait_caught_up(self, timeout: float = 30.0) -> None:
        position = self.primary_position()
        deadline = time.monotonic() + timeout
        while not self.replayed(position):
            if time.monotonic() > deadline:
                raise TimeoutError(f"replica did not replay {position} within {timeout} s")
            time.sleep(0.02)

    def replica_has(self, sql: str, params=()) -> bool:
        return bool(self.replica.query(sql, params))

    # --- faults ------------------------------------------------------------------------------------

    def pause(self) -> None:
        with self.replica.connect() as conn:
            conn.execute("SELECT pg_wal_replay_pause()")
            while conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0] != "paused":
                time.sleep(0.01)

    def resume(self) -> None:
        with self.replica.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")

    def delay(self, milliseconds: int) -> None:
        wanted = f"{milliseconds}ms" if milliseconds else "0"
        with self.replica.connect() as conn:
            conn.execute(f"ALTER SYSTEM SET recovery_min_apply_delay = '{int(milliseconds)}ms'")
            conn.execute("SELECT pg_reload_conf()")
            deadline = time.monotonic() + 10
            while conn.execute("SHOW recovery_min_apply_delay").fetchone()[0] != wanted:
                if time.monotonic() > deadline:
                    raise TimeoutError("recovery_min_apply_delay not reloaded")
                time.sleep(0.01)

    def stop_replica(self) -> None:
        self.replica.stop("fast")

    def start_replica(self) -> None:
        self.replica.start()

    def freeze(self) -> None:
        postmaster = self.replica.postmaster_pid()
        os.kill(postmaster, signal.SIGSTOP)  # first, so it starts no new process meanwhile
        for pid in _descendants(postmaster):
            os.kill(pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if not self.frozen:
            return
        postmaster = self.replica.postmaster_pid()
        for pid in [*_descendants(postmaster), postmaster]:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                continue
        self.frozen = False

    def heal(self) -> None:
        """Undo every fault: thawed, running, replaying without delay, caught up."""
        self.thaw()
        if not self.replica.running():
            self.start_replica()
        self.delay(0)
        self.resume()
        self.wait_caught_up()

import shutil
import signal
import subprocess
import time

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server")


class ThrowawayRedis:
    """A private redis-server on a free port that a test can kill, restart, pause."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("throwaway redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def pause(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def throwaway_redis(settings, unused_tcp_port):
    """The default cache on a throwaway Redis (breaker client, short timeouts)."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not on PATH")
    from django.core.cache import caches

    from wemaster.core.cache import reset_process_state

    server = ThrowawayRedis(unused_tcp_port)
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "wmtest",
            "TIMEOUT": 300,
            "OPTIONS": {
                "CLIENT_CLASS": "wemaster.core.cache.redis_client.BreakerClient",
                "SOCKET_CONNECT_TIMEOUT": 0.1,
                "SOCKET_TIMEOUT": 0.1,
            },
        }
    }
    settings.CACHE_BREAKER_FAILURES = 3
    settings.CACHE_BREAKER_COOLDOWN_SECONDS = 0.3
    reset_process_state()
    try:
        yield server
    finally:
        if server.process is not None:
            server.resume()
        server.kill()
        caches["default"].close()
        reset_process_state()

"""Settings come from the environment only: each variable parsed in a fresh interpreter."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "env": s.DJANGO_ENV, "debug": s.DEBUG, "hosts": s.ALLOWED_HOSTS,
    "databases": {k: {"engine": v["ENGINE"], "name": str(v["NAME"]), "options": v.get("OPTIONS", {}),
                      "test": v.get("TEST", {}), "conn_max_age": v.get("CONN_MAX_AGE")}
                  for k, v in s.DATABASES.items()},
    "cache": s.CACHES["default"]["BACKEND"], "cache_location": s.CACHES["default"].get("LOCATION"),
    "layer": s.CHANNEL_LAYERS["default"]["BACKEND"], "broker": s.CELERY_BROKER_URL,
    "eager": s.CELERY_TASK_ALWAYS_EAGER, "cachalot": s.CACHALOT_ENABLED, "rate_limits": s.RATE_LIMITS_ENABLED,
    "ssl_redirect": getattr(s, "SECURE_SSL_REDIRECT", False), "secret": s.SECRET_KEY,
}, default=str))
"""
SERVICE_VARS = (
    "EMAIL_URL",
    "DATABASE_URL",
    "DATABASE_REPLICA_URLS",
    "REDIS_URL",
    "REDIS_SENTINELS",
    "REDIS_SENTINEL_MASTER",
    "REDIS_SENTINEL_DB",
    "REDIS_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
    "CELERY_BROKER_URL",
    "CELERY_TASK_ALWAYS_EAGER",
    "DJANGO_ENV",
    "DJANGO_SECRET_KEY",
    "ALLOWED_HOSTS",
    "CACHES_ENABLED",
    "RATE_LIMITS",
    "DJANGO_DEBUG",
)


def load(probe: str = PROBE, **variables) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(variables, DJANGO_SETTINGS_MODULE="wemaster.settings")
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def settings_with(**variables) -> dict:
    result = load(**variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_default_without_variables():
    s = settings_with()
    assert s["env"] == "development" and s["debug"] is True
    assert s["databases"]["default"]["engine"] == "django.db.backends.sqlite3"
    assert s["databases"]["default"]["name"].endswith("var/db.sqlite3")
    assert s["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["layer"] == "channels.layers.InMemoryChannelLayer"
    assert s["eager"] is True
    assert s["cachalot"] is True and s["rate_limits"] is True


def test_postgres_url_uses_the_native_pool():
    s = settings_with(DATABASE_URL="postgres://app:pw@db.internal:5433/wm")
    db = s["databases"]["default"]
    assert db["engine"] == "django.db.backends.postgresql"
    assert db["name"] == "wm"
    assert db["options"]["pool"]["max_size"] == 20
    assert db["conn_max_age"] == 0


def test_replica_urls_become_mirrored_aliases():
    s = settings_with(
        DATABASE_URL="postgres://app@primary/wm",
        DATABASE_REPLICA_URLS="postgres://app@replica1/wm,postgres://app@replica2/wm",
    )
    assert set(s["databases"]) == {"default", "replica_0", "replica_1"}
    replica = s["databases"]["replica_1"]
    assert replica["test"]["MIRROR"] == "default"
    # Fail fast: the replica backend bounds every wait; a pooled connection is awaited 1 s at most
    # and a live replica cancels a statement before the client gives up on it.
    assert replica["engine"] == "wemaster.core.replica_backend"
    assert replica["options"]["pool"]["timeout"] == 1.0
    assert replica["options"]["options"] == "-c statement_timeout=750"
    assert s["databases"]["default"]["engine"] == "django.db.backends.postgresql"


def test_replicas_need_postgresql():
    result = load(DATABASE_REPLICA_URLS="sqlite:////tmp/replica.sqlite3")
    assert result.returncode != 0
    assert "read replicas need PostgreSQL" in result.stderr


def test_redis_url_switches_cache_layer_and_celery():
    s = settings_with(REDIS_URL="redis://cache.internal:6379/3")
    assert s["cache"] == "django_redis.cache.RedisCache"
    assert s["cache_location"] == "redis://cache.internal:6379/3"
    assert s["layer"] == "wemaster.core.channel_layer.RedisChannelLayer"
    assert s["broker"] == "redis://cache.internal:6379/3"
    assert s["eager"] is False


def test_celery_broker_can_differ_from_redis():
    s = settings_with(REDIS_URL="redis://r/0", CELERY_BROKER_URL="amqp://guest:guest@mq:5672//")
    assert s["broker"] == "amqp://guest:guest@mq:5672//"


def test_switches_for_operators():
    s = settings_with(CACHES_ENABLED="off", RATE_LIMITS="off")
    assert s["cachalot"] is False and s["rate_limits"] is False


def test_production_refuses_to_start_without_secret_key():
    result = load(DJANGO_ENV="production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_production_is_hardened():
    s = settings_with(DJANGO_ENV="production", DJANGO_SECRET_KEY="x" * 60, ALLOWED_HOSTS="api.example.com,.example.com")
    assert s["debug"] is False
    assert s["hosts"] == ["api.example.com", ".example.com"]
    assert s["ssl_redirect"] is True
    assert s["secret"] == "x" * 60


def test_unknown_environment_is_refused():
    result = load(DJANGO_ENV="staging")
    assert result.returncode != 0
    assert "DJANGO_ENV" in result.stderr


@pytest.mark.timeout(120)
def test_production_passes_check_deploy():
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    env.update(
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY="k" * 20 + "-Z9!q" * 12,
        ALLOWED_HOSTS="api.example.com",
        EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_channel_layer_reads_outlast_its_blocking_pop():
    """channels-redis blocks up to `brpop_timeout` s in BZPOPMIN; a socket read timeout of the
    same length (redis-py 8's default) crashes consumers under load."""
    from channels_redis.core import RedisChannelLayer

    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, json; django.setup(); from django.conf import settings as s; "
            "print(json.dumps(s.CHANNEL_LAYERS['default']['CONFIG']['hosts'][0]))",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in SERVICE_VARS},
            "REDIS_URL": "redis://cache.internal:6379/3",
            "DJANGO_SETTINGS_MODULE": "wemaster.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    host = json.loads(probe.stdout.strip().splitlines()[-1])
    assert host["socket_timeout"] > RedisChannelLayer.brpop_timeout
    assert host["max_connections"] >= 1000


MAIL_PROBE = """
import json, django
django.setup()
from django.conf import settings as s
from django.core import checks
print(json.dumps({
    "backend": s.EMAIL_BACKEND, "host": getattr(s, "EMAIL_HOST", None), "port": getattr(s, "EMAIL_PORT", None),
    "tls": getattr(s, "EMAIL_USE_TLS", None), "user": getattr(s, "EMAIL_HOST_USER", None),
    "checks": [m.id for m in checks.run_checks()],
}))
"""
PRODUCTION = {"DJANGO_ENV": "production", "DJANGO_SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "api.example.com"}


def mail_settings(**variables) -> dict:
    result = load(MAIL_PROBE, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mail_goes_to_the_console_in_development_and_nowhere_unconfigured_in_production():
    assert mail_settings()["backend"] == "django.core.mail.backends.console.EmailBackend"
    production = mail_settings(**PRODUCTION)
    assert production["backend"] == "django.core.mail.backends.dummy.EmailBackend"  # reset links stay out of logs
    assert "accounts.W001" in production["checks"]


def test_mail_is_sent_by_smtp_from_email_url():
    smtp = mail_settings(**PRODUCTION, EMAIL_URL="smtp+tls://mailer:secret@smtp.example.com:587")
    assert smtp["backend"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (smtp["host"], smtp["port"], smtp["tls"], smtp["user"]) == ("smtp.example.com", 587, True, "mailer")
    assert "accounts.W001" not in smtp["checks"]

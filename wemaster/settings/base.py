"""The platform's settings, common to every environment, each from the environment (the package's
docstring says how the modules fit together). Every list and dict is declared here once; where a
default differs by environment, the one line says so (`... if PRODUCTION else ...`)."""

import ipaddress
import math
import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import environ
from django.core.exceptions import ImproperlyConfigured

from wemaster.core.logging import configure_structlog, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"DJANGO_ENV must be development or production, not {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver", "[::1]"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- feature switches for operators and benchmarks -------------------------------------------
CACHES_ENABLED = env.bool("CACHES_ENABLED", default=True)
RATE_LIMITS_ENABLED = env.bool("RATE_LIMITS", default=True)
CHAT_CONSOLE_ENABLED = env.bool("CHAT_CONSOLE_ENABLED", default=not PRODUCTION)

# --- applications ----------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",  # runserver serves websockets too (make run)
    "wemaster.core.apps.StaffAdminConfig",  # django.contrib.admin with the WeMaster staff site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_prometheus",
    "django_structlog",
    "cachalot",
    "wemaster.core",
    "wemaster.accounts",
    "wemaster.scheduling",  # before lessons: seed_demo books inside availability
    "wemaster.ledger",
    "wemaster.lessons",
    "wemaster.reviews",
    "community",
    "messaging",
    "earnings",
    "wallet",
    "wemaster.notifications",
    # Feature flags (django-waffle, wemaster/flags; docs/OPERATIONS.md, Feature flags).
    "waffle",
    "wemaster.flags",
]

MIDDLEWARE = [
    # First, so every answer (the early refusals below included) has its request id and one log line.
    "django_structlog.middlewares.RequestMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # Oversized headers and query strings are refused before anything reads a cache or the database.
    "wemaster.core.request_limits.RequestSizeLimitMiddleware",
    "wemaster.core.cache.stale.CacheStatusMiddleware",
    # Counts requests per flag state (wemaster_flag_requests_total) once the view has decided.
    "wemaster.flags.checks.FlagRequestMiddleware",
    "wemaster.core.db_router.ReplicaReadsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "wemaster.core.middleware.ApiJsonErrorMiddleware",
    "wemaster.core.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "wemaster.urls"
WSGI_APPLICATION = "wemaster.wsgi.application"
ASGI_APPLICATION = "wemaster.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database ----------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
DB_POOL_MIN_SIZE = env.int("DB_POOL_MIN_SIZE", default=2)
DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=20)
DB_POOL_TIMEOUT = env.float("DB_POOL_TIMEOUT", default=10.0)
# Read replicas (wemaster.core.db_router, replica_monitor, replica_backend): a replica whose replay
# lags more than MAX_LAG seconds is skipped; a replica read waits at most TIMEOUT seconds for a
# connection or an answer before the primary answers it instead; the lag is probed in the
# background every PROBE_INTERVAL seconds; a user who wrote reads the primary until the replicas
# have replayed that write, for at most READ_YOUR_WRITES_SECONDS.
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=1.0)
DATABASE_REPLICA_TIMEOUT = env.float("DATABASE_REPLICA_TIMEOUT", default=1.0)
DATABASE_REPLICA_PROBE_INTERVAL = env.float("DATABASE_REPLICA_PROBE_INTERVAL", default=0.5)
DATABASE_READ_YOUR_WRITES_SECONDS = env.int("DATABASE_READ_YOUR_WRITES_SECONDS", default=30)


def database_settings(url: str, *, replica: bool = False) -> dict:
    """One `DATABASES` entry for `url`; `replica=True` makes it a read replica of `default`."""
    config = env.db_url_config(url)
    if config["ENGINE"] == "django.db.backends.postgresql":
        # Django's native psycopg pool; it requires CONN_MAX_AGE = 0.
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})
        config["OPTIONS"]["pool"] = {
            "min_size": DB_POOL_MIN_SIZE,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": DB_POOL_TIMEOUT,
        }
        config["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3))
    elif replica:
        raise ImproperlyConfigured("DATABASE_REPLICA_URLS: read replicas need PostgreSQL")
    else:
        # SQLite: wait for the writer instead of failing at once under threads.
        config.setdefault("OPTIONS", {})
        config["OPTIONS"].setdefault("timeout", 20)
        config["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    if replica:
        # Fail fast: no replica read waits longer than DATABASE_REPLICA_TIMEOUT for a pooled
        # connection or an answer (the backend enforces the latter on the client side, where a
        # frozen server cannot stall it); a live replica cancels a slow statement a little before.
        config["ENGINE"] = "wemaster.core.replica_backend"
        config["OPTIONS"]["pool"]["timeout"] = DATABASE_REPLICA_TIMEOUT
        config["OPTIONS"]["connect_timeout"] = max(2, math.ceil(DATABASE_REPLICA_TIMEOUT))  # libpq's minimum is 2
        statement_timeout = f"-c statement_timeout={int(DATABASE_REPLICA_TIMEOUT * 750)}"
        config["OPTIONS"]["options"] = " ".join(filter(None, [config["OPTIONS"].get("options"), statement_timeout]))
        # Every read is fetched within its execute, so the deadline covers it (no named cursors).
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        config["TEST"] = {"MIRROR": "default"}
    return config


DATABASES = {"default": database_settings(DATABASE_URL)}
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
if not USING_POSTGRES:
    VAR_DIR.mkdir(exist_ok=True)

DATABASE_REPLICA_ALIASES = []
for index, replica_url in enumerate(env.list("DATABASE_REPLICA_URLS", default=[])):
    alias = f"replica_{index}"
    DATABASES[alias] = database_settings(replica_url, replica=True)
    DATABASE_REPLICA_ALIASES.append(alias)

# --- cache, channel layer, Celery --------------------------------------------------------------
# Redis is one server (REDIS_URL) or a master that Sentinel fails over (REDIS_SENTINELS +
# REDIS_SENTINEL_MASTER): the cache, the channel layer and, unless CELERY_BROKER_URL says otherwise,
# the Celery broker follow the master the sentinels name. One or the other, never both.
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="wm")
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=0.25)


def _sentinel_addresses(items: list[str]) -> list[tuple[str, int]]:
    """ "host:port,host:port" -> [(host, port), ...]"""
    addresses = []
    for item in items:
        host, _, port = item.strip().rpartition(":")
        if not (host and port.isdigit()):
            raise ImproperlyConfigured(f"REDIS_SENTINELS: bad item {item!r} (want host:port)")
        addresses.append((host.strip("[]"), int(port)))
    return addresses


REDIS_SENTINELS = _sentinel_addresses(env.list("REDIS_SENTINELS", default=[]))
REDIS_SENTINEL_MASTER = env.str("REDIS_SENTINEL_MASTER", default="mymaster")
REDIS_SENTINEL_DB = env.int("REDIS_SENTINEL_DB", default=0)
# AUTH of the Redis servers found through Sentinel (a REDIS_URL carries its own password) and of
# the sentinels themselves.
REDIS_PASSWORD = env.str("REDIS_PASSWORD", default="")
REDIS_SENTINEL_PASSWORD = env.str("REDIS_SENTINEL_PASSWORD", default="")
if REDIS_URL and REDIS_SENTINELS:
    raise ImproperlyConfigured("Set REDIS_URL (one Redis server) or REDIS_SENTINELS (Sentinel), not both")
if REDIS_SENTINELS and not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", REDIS_SENTINEL_MASTER):
    # django-redis reads the master name as the host of a URL, which lower-cases it.
    raise ImproperlyConfigured("REDIS_SENTINEL_MASTER: lower-case letters, digits, '.', '_' and '-' only")
REDIS_CONFIGURED = bool(REDIS_URL or REDIS_SENTINELS)
# How the processes reach the sentinels: short timeouts, so a dead sentinel costs little.
REDIS_SENTINEL_KWARGS = {
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
    **({"password": REDIS_SENTINEL_PASSWORD} if REDIS_SENTINEL_PASSWORD else {}),
}

if REDIS_CONFIGURED:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": 300,
            "OPTIONS": {
                # Every call goes through the circuit breaker (wemaster/core/cache/redis_client.py).
                "CLIENT_CLASS": "wemaster.core.cache.redis_client.BreakerClient",
                "PARSER_CLASS": "redis._parsers.hiredis._HiredisParser",
                "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "CONNECTION_POOL_KWARGS": {"max_connections": env.int("REDIS_MAX_CONNECTIONS", default=50)},
            },
        }
    }
    # redis-py's asyncio pool refuses work past max_connections (default 100): a thousand
    # sockets joining their groups at once need more. redis-py 8 reads with a 5 s socket timeout
    # by default, exactly channels-redis' BZPOPMIN wait: under load the read timed out first and
    # the consumer crashed (the client was disconnected), so the read timeout must exceed that wait.
    _channel_host = {
        "max_connections": env.int("CHANNEL_REDIS_MAX_CONNECTIONS", default=1000),
        "socket_timeout": env.float("CHANNEL_REDIS_SOCKET_TIMEOUT", default=15.0),
    }
    if REDIS_SENTINELS:
        # Reads and writes go to the master only: a replica may not have replayed the
        # invalidation a reader must see, and a cache entry must never be older than the write
        # that invalidated it. The pool class notices a change of master (a failover may lose
        # the last acknowledged writes) and has the breaker invalidate everything cached.
        CACHES["default"]["LOCATION"] = f"redis://{REDIS_SENTINEL_MASTER}/{REDIS_SENTINEL_DB}"
        CACHES["default"]["OPTIONS"].update(
            {
                "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
                "CONNECTION_POOL_CLASS": "wemaster.core.cache.redis_client.SentinelMasterPool",
                "SENTINELS": REDIS_SENTINELS,
                "SENTINEL_KWARGS": dict(REDIS_SENTINEL_KWARGS),
                **({"PASSWORD": REDIS_PASSWORD} if REDIS_PASSWORD else {}),
            }
        )
        _channel_host.update(
            {
                "sentinels": REDIS_SENTINELS,
                "master_name": REDIS_SENTINEL_MASTER,
                "sentinel_kwargs": dict(REDIS_SENTINEL_KWARGS),
                "db": REDIS_SENTINEL_DB,
                **({"password": REDIS_PASSWORD} if REDIS_PASSWORD else {}),
            }
        )
    else:
        _channel_host["address"] = REDIS_URL
    CHANNEL_LAYERS = {
        "default": {
            # channels-redis, whose receive() waits out a lost master (wemaster/core/channel_layer.py).
            "BACKEND": "wemaster.core.channel_layer.RedisChannelLayer",
            "CONFIG": {
                "hosts": [_channel_host],
                "prefix": f"{CACHE_KEY_PREFIX}:asgi",
                "capacity": env.int("CHANNEL_CAPACITY", default=200),
                "expiry": 60,
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "wemaster-default",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "TIMEOUT": 300,
            "OPTIONS": {"MAX_ENTRIES": 10_000},
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# django-cachalot caches ORM reads of read-mostly tables only (docs/ARCHITECTURE.md, Caching).
CACHALOT_ENABLED = CACHES_ENABLED and env.bool("CACHALOT_ENABLED", default=True)
CACHALOT_TIMEOUT = env.int("CACHALOT_TIMEOUT", default=600)
CACHALOT_ONLY_CACHABLE_TABLES = frozenset(
    {
        "accounts_user",
        "accounts_tutorprofile",
        "accounts_subject",
        "accounts_tutorprofile_subjects",
        "accounts_tutorlanguage",
    }
)
CACHALOT_UNCACHABLE_TABLES = frozenset({"django_migrations", "django_session"})
# Only reads of the primary are cached (and served from the cache): a replica may not have
# replayed the write whose invalidation an entry would otherwise outlive (docs/ARCHITECTURE.md, Read replicas).
CACHALOT_DATABASES = frozenset({"default"})


def _redis_broker_url() -> str:
    """The Celery broker on the same Redis as the cache: the server, or every sentinel."""
    if REDIS_URL:
        return REDIS_URL
    auth = f":{quote(REDIS_PASSWORD, safe='')}@" if REDIS_PASSWORD else ""
    return ";".join(
        f"sentinel://{auth}{f'[{host}]' if ':' in host else host}:{port}/{REDIS_SENTINEL_DB}"
        for host, port in REDIS_SENTINELS
    )


# The broker: CELERY_BROKER_URL (e.g. RabbitMQ, amqp://user:password@host:5672/vhost), else the
# Redis above. Tasks run inline only when there is no broker at all (the embedded default);
# CELERY_TASK_ALWAYS_EAGER still decides when set.
_EXPLICIT_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_BROKER_URL = _EXPLICIT_BROKER_URL or (_redis_broker_url() if REDIS_CONFIGURED else "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not (_EXPLICIT_BROKER_URL or REDIS_CONFIGURED))
CELERY_TASK_EAGER_PROPAGATES = True
# A task is acknowledged after it ran, and a worker that dies under it (kill -9, OOM) gives it
# back: RabbitMQ requeues it when the worker's connection drops, Redis after the visibility
# timeout; the prefork parent rejects (requeues) the task of a child that died. One task at a
# time per process, so a dying worker holds back no more than it was running.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600)}
if CELERY_BROKER_URL.startswith("sentinel://"):
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        master_name=REDIS_SENTINEL_MASTER, sentinel_kwargs=dict(REDIS_SENTINEL_KWARGS)
    )
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {}

# --- auth, passwords ---------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ],
)

# API tokens: django-rest-knox, one per device, only their SHA-512 digest stored
# (accounts.DeviceToken). A token expires AUTH_TOKEN_TTL_DAYS after its last use; its expiry and
# last_used are written at most once per AUTH_TOKEN_REFRESH_INTERVAL seconds, so a busy client
# does not write the database on every request. A user keeps at most AUTH_TOKENS_PER_USER
# tokens: a new login revokes the least recently used beyond that.
AUTH_TOKEN_TTL_DAYS = env.int("AUTH_TOKEN_TTL_DAYS", default=30)
AUTH_TOKEN_REFRESH_INTERVAL = env.int("AUTH_TOKEN_REFRESH_INTERVAL", default=900)
AUTH_TOKENS_PER_USER = env.int("AUTH_TOKENS_PER_USER", default=20)
KNOX_TOKEN_MODEL = "accounts.DeviceToken"
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=AUTH_TOKEN_TTL_DAYS),
    "AUTO_REFRESH": True,
    "MIN_REFRESH_INTERVAL": AUTH_TOKEN_REFRESH_INTERVAL,
    "AUTH_HEADER_PREFIX": "Token",
}
# knox's own AuthToken is swapped for accounts.DeviceToken: its migrations would only create an
# unused table.
MIGRATION_MODULES = {"knox": None}
# Expired tokens are deleted by a beat task this often.
AUTH_TOKEN_PRUNE_EVERY_SECONDS = env.int("AUTH_TOKEN_PRUNE_EVERY_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE["auth-tokens-prune"] = {
    "task": "wemaster.accounts.tasks.tokens_prune",
    "schedule": AUTH_TOKEN_PRUNE_EVERY_SECONDS,
}

# Password reset mails (Django's default_token_generator; a link is valid PASSWORD_RESET_TIMEOUT
# seconds and dies with the password it would change). PASSWORD_RESET_URL is the client's page,
# with `{uid}` and `{token}` filled in; without it the mail carries the two values alone.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3600)
PASSWORD_RESET_URL = env.str("PASSWORD_RESET_URL", default="")
# Mail: SMTP (or any backend django-environ knows) from EMAIL_URL, e.g.
# smtp+tls://user:password@smtp.example.com:587; without it the console in development, and in
# production nothing is sent (a reset link must not land in the logs; `manage.py check` warns).
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="WeMaster <no-reply@wemaster.invalid>")

# --- REST framework, OpenAPI ---------------------------------------------------------------------
THROTTLE_RATES = {
    "anon": env.str("RATE_ANON", default="300/min"),
    "user": env.str("RATE_USER", default="3000/min"),
    "register": env.str("RATE_REGISTER", default="20/hour"),
    "login": env.str("RATE_LOGIN", default="30/min"),
    # Per account (the normalized email of the body), on top of the per-IP "login": an attacker
    # rotating addresses still meets the account's limit.
    "login_account": env.str("RATE_LOGIN_ACCOUNT", default="10/min"),
    "password_reset": env.str("RATE_PASSWORD_RESET", default="20/hour"),
    "password_reset_account": env.str("RATE_PASSWORD_RESET_ACCOUNT", default="5/hour"),
    # Password change and deactivation, per user (each checks the current password).
    "password": env.str("RATE_PASSWORD", default="10/hour"),
    "message_send": env.str("RATE_MESSAGE_SEND", default="60/min"),
    "top_up": env.str("RATE_TOP_UP", default="30/min"),
    "withdrawal": env.str("RATE_WITHDRAWAL", default="10/min"),
    "post_create": env.str("RATE_POST_CREATE", default="30/min"),
    # Community writes, each its own scope (per user): a comment or a reaction empties cached
    # pages, a follow of a new tag or a post with new tags creates Tag rows (counted per new tag).
    "comment_create": env.str("RATE_COMMENT_CREATE", default="20/min"),
    "reaction": env.str("RATE_REACTION", default="60/min"),
    "follow_create": env.str("RATE_FOLLOW_CREATE", default="60/min"),
    "tag_create": env.str("RATE_TAG_CREATE", default="30/hour"),
    "report_create": env.str("RATE_REPORT_CREATE", default="20/hour"),
    # websocket `read` frames that reach the database (repeats are coalesced for free)
    "ws_read": env.str("RATE_WS_READ", default="120/min"),
}

# --- the edge: client addresses, request sizes, cost of public reads ---------------------------
# The proxies in front of the workers (addresses or CIDR networks, comma separated): a hop of
# X-Forwarded-For is believed only when one of them added it (wemaster/core/client_ip.py). Empty:
# the header is ignored and the peer address is the client.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
try:
    [ipaddress.ip_network(item, strict=False) for item in TRUSTED_PROXIES]
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from exc
# Requests whose header lines (names and values) add up to more bytes are refused with 431,
# query strings longer than this with 414, before any middleware that reads a cache or the
# database (wemaster/core/request_limits.py). nginx refuses a longer header line itself.
REQUEST_MAX_HEADER_BYTES = env.int("REQUEST_MAX_HEADER_BYTES", default=8 * 1024)
REQUEST_MAX_QUERY_STRING_BYTES = env.int("REQUEST_MAX_QUERY_STRING_BYTES", default=2 * 1024)
# Public reads (the community lists, posts, comments, tags) run their primary statements under
# this timeout; a statement cancelled by it answers 503 `query_timeout` (wemaster/core/deadlines.py).
# 0 switches it off; PostgreSQL only.
PUBLIC_READ_STATEMENT_TIMEOUT_MS = env.int("PUBLIC_READ_STATEMENT_TIMEOUT_MS", default=2000)
# Expensive reads (full-text search): at most this many at once per client address, in every
# process together (Redis); a slot a killed worker never gave back expires after SLOT_SECONDS.
EXPENSIVE_READS_PER_CLIENT = env.int("EXPENSIVE_READS_PER_CLIENT", default=2)
EXPENSIVE_READ_SLOT_SECONDS = env.int("EXPENSIVE_READ_SLOT_SECONDS", default=30)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "wemaster.core.authentication.CachedTokenAuthentication",
        "wemaster.core.authentication.PrimarySessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "wemaster.core.pagination.CursorPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["wemaster.core.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "wemaster.core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "wemaster.core.throttles.AnonRateThrottle",
        "wemaster.core.throttles.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    "DEFAULT_SCHEMA_CLASS": "wemaster.core.schema.ApiAutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "COERCE_DECIMAL_TO_STRING": True,
}
MAX_PAGE_SIZE = 100
AUTH_TOKEN_CACHE_TTL = env.int("AUTH_TOKEN_CACHE_TTL", default=300)
# A well-formed token that matches no row is remembered (under its digest) this long.
AUTH_TOKEN_NEGATIVE_CACHE_TTL = env.int("AUTH_TOKEN_NEGATIVE_CACHE_TTL", default=30)

SPECTACULAR_SETTINGS = {
    "TITLE": "WeMaster API",
    "DESCRIPTION": (
        "REST API of the WeMaster tutoring marketplace: students keep a prepaid wallet and book lessons, "
        "tutors earn and withdraw, everyone chats and meets in the community.\n\n"
        "Authenticate with the header `Authorization: Token <key>`; the key comes from "
        "`POST /api/v1/auth/register` or `POST /api/v1/auth/token` (use *Authorize* above). "
        'Bodies and answers are JSON, money is a decimal string such as `"12.50"`, times are ISO-8601 UTC, '
        'and every error is `{"code", "detail", "fields"?}`. Conventions, error codes, the chat '
        "websocket and the sandbox payment tokens: `docs/API.md` in the repository."
    ),
    "VERSION": "1.0.0",
    # The token is the API's one scheme (the first authentication class); the session cookie
    # serves the browsable API and admin only, so it stays out of the schema.
    "AUTHENTICATION_WHITELIST": REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"][:1],
    # One tag per area of the API; wemaster.core.schema gives each operation its tag by path.
    "TAGS": [
        {"name": "accounts", "description": "Registration, tokens, passwords, your profile, the tutor directory."},
        {"name": "wallet", "description": "Students' prepaid wallet: cards, top-ups, history, auto-reload, refunds."},
        {"name": "lessons", "description": "Booking, cancelling, completing, disputing and reviewing lessons."},
        {"name": "earnings", "description": "Tutors' earnings, analytics, payout methods and withdrawals."},
        {"name": "messaging", "description": "Conversations, messages, read pointers and unread counts."},
        {"name": "community", "description": "Posts, comments, reactions, follows, feeds and tags."},
        {"name": "notifications", "description": "What happened that concerns you: list, unread count, read, email."},
        {"name": "operations", "description": "Service checks for clients and load tests."},
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {},
}

# --- money ------------------------------------------------------------------------------------
CURRENCY = env.str("CURRENCY", default="USD")
# A service transaction aborted by PostgreSQL for a lock conflict (deadlock, serialization failure,
# lock timeout) runs again, at most this many times in all, after a jittered wait of up to
# BACKOFF_MS * 2**(retry - 1) ms (wemaster.ledger.locks.retry_on_lock_conflict).
LOCK_CONFLICT_RETRY_ATTEMPTS = env.int("LOCK_CONFLICT_RETRY_ATTEMPTS", default=5)
LOCK_CONFLICT_RETRY_BACKOFF_MS = env.int("LOCK_CONFLICT_RETRY_BACKOFF_MS", default=20)

# --- i18n, static -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}  # + "staticfiles" per environment
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)
# Form fields (admin forms) and query parameters Django parses per request: the API takes JSON and
# a query string of at most REQUEST_MAX_QUERY_STRING_BYTES, so a few hundred is ample (an admin
# bulk action posts one field per selected row: at most 100 rows a page, Django's list_per_page).
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("DATA_UPLOAD_MAX_NUMBER_FIELDS", default=500)
# No endpoint takes file uploads.
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("DATA_UPLOAD_MAX_NUMBER_FILES", default=0)

# --- logging: structured, one line per record (docs/OPERATIONS.md, Logs) ------------------------
# JSON lines by default in production, readable console lines with DEBUG on (`make run`).
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
if LOG_FORMAT not in ("json", "console"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or console, not {LOG_FORMAT!r}")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
configure_structlog()
# django-structlog: the request id travels into the Celery tasks a request enqueues; the user id
# and the request line's fields are bound by wemaster.core.logging (no query strings, no IPs).
DJANGO_STRUCTLOG_CELERY_ENABLED = True
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False
DJANGO_STRUCTLOG_USER_ID_FIELD = None

# --- metrics: who may read /metrics, and what the scrape-time collectors may cost ----------------
# A bearer token and/or an allow-list of addresses (CIDR networks). Development is open to the
# loopback addresses; production refuses every scrape until one of the two is set
# (wemaster/core/metrics_view.py, docs/OPERATIONS.md).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_ADDRESSES = env.list(
    "METRICS_ALLOWED_ADDRESSES", default=[] if PRODUCTION else ["127.0.0.1/32", "::1/128"]
)
for _network in METRICS_ALLOWED_ADDRESSES:
    try:
        ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"METRICS_ALLOWED_ADDRESSES: {_network!r} is not an address or CIDR network"
        ) from None
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN: use at least 16 characters (e.g. `openssl rand -hex 32`)")
# Queue depth, intents and connections are read at most this often per process, each read
# bounded by its timeout.
METRICS_COLLECTOR_CACHE_SECONDS = env.float("METRICS_COLLECTOR_CACHE_SECONDS", default=5.0)
METRICS_BROKER_TIMEOUT_SECONDS = env.float("METRICS_BROKER_TIMEOUT_SECONDS", default=0.5)
METRICS_DB_TIMEOUT_MS = env.int("METRICS_DB_TIMEOUT_MS", default=1000)


# --- caching and resilience platform (wemaster.core.cache, db_router, throttles) ------------------
def _ttl_bounds(spec: str) -> dict[str, tuple[int, int]]:
    """ "family=min:max,family2=min:max" -> {"family": (min, max)} (seconds)."""
    bounds = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        family, _, span = item.partition("=")
        low, _, high = span.partition(":")
        if not (family and low.isdigit() and high.isdigit() and 0 < int(low) <= int(high)):
            raise ImproperlyConfigured(f"CACHE_FAMILY_TTL_BOUNDS: bad item {item!r} (want family=min:max)")
        bounds[family.strip()] = (int(low), int(high))
    return bounds


# Memory level (per process, `local=True` only): short TTL, LRU bounded in bytes; a packed value
# larger than CACHE_MEMORY_MAX_ENTRY_BYTES is served from Redis only.
CACHE_MEMORY_TTL_SECONDS = env.float("CACHE_MEMORY_TTL_SECONDS", default=5.0)
CACHE_MEMORY_MAX_BYTES = env.int("CACHE_MEMORY_MAX_BYTES", default=32 * 1024 * 1024)
CACHE_MEMORY_MAX_ENTRY_BYTES = env.int("CACHE_MEMORY_MAX_ENTRY_BYTES", default=1024 * 1024)
# How long a process trusts the tag versions it read from Redis (memory-level hits only), and
# the bytes that memo may hold (LRU).
CACHE_TAG_MEMO_SECONDS = env.float("CACHE_TAG_MEMO_SECONDS", default=1.0)
CACHE_TAG_MEMO_MAX_BYTES = env.int("CACHE_TAG_MEMO_MAX_BYTES", default=4 * 1024 * 1024)
# Adaptive TTL: starts at the caller's ttl, grows while a family is not invalidated and
# shrinks when it churns, within CACHE_FAMILY_TTL_BOUNDS or [ttl/SPREAD, ttl*SPREAD]
# clamped to [FLOOR, CEILING].
CACHE_TTL_FLOOR = env.int("CACHE_TTL_FLOOR", default=10)
CACHE_TTL_CEILING = env.int("CACHE_TTL_CEILING", default=3600)
CACHE_TTL_SPREAD = env.float("CACHE_TTL_SPREAD", default=4.0)
CACHE_TTL_GROW = env.float("CACHE_TTL_GROW", default=1.25)
CACHE_TTL_SHRINK = env.float("CACHE_TTL_SHRINK", default=0.5)
CACHE_FAMILY_TTL_BOUNDS = _ttl_bounds(env.str("CACHE_FAMILY_TTL_BOUNDS", default="tutor_directory=60:1800"))
# Stampede protection: one recompute per key under a short Redis lock; the others serve
# the previous value (kept CACHE_STALE_GRACE_SECONDS past freshness) or wait this long.
CACHE_LOCK_TIMEOUT_SECONDS = env.int("CACHE_LOCK_TIMEOUT_SECONDS", default=10)
CACHE_LOCK_WAIT_SECONDS = env.float("CACHE_LOCK_WAIT_SECONDS", default=2.0)
CACHE_LOCK_POLL_SECONDS = env.float("CACHE_LOCK_POLL_SECONDS", default=0.02)
CACHE_STALE_GRACE_SECONDS = env.int("CACHE_STALE_GRACE_SECONDS", default=60)
# Stale-if-error: how long past freshness a last good public value may still be served.
CACHE_STALE_IF_ERROR_MAX_AGE = env.int("CACHE_STALE_IF_ERROR_MAX_AGE", default=24 * 3600)
# Entries whose key a client chooses (filters, page sizes): at most this many per family in Redis;
# storing one more evicts the family's entries closest to expiry (wemaster/core/cache/keys.py).
CACHE_PARAM_KEYS_PER_FAMILY = env.int("CACHE_PARAM_KEYS_PER_FAMILY", default=500)
# Circuit breaker around Redis (state in process memory).
CACHE_BREAKER_FAILURES = env.int("CACHE_BREAKER_FAILURES", default=5)
CACHE_BREAKER_COOLDOWN_SECONDS = env.float("CACHE_BREAKER_COOLDOWN_SECONDS", default=5.0)
# Warming: families the beat task refills (empty: all discovered) and how often.
CACHE_WARM_FAMILIES = env.list("CACHE_WARM_FAMILIES", default=[])
CACHE_WARM_INTERVAL_SECONDS = env.int("CACHE_WARM_INTERVAL_SECONDS", default=240)
TUTOR_DIRECTORY_TTL = env.int("TUTOR_DIRECTORY_TTL", default=300)
TUTOR_DIRECTORY_WARM_SUBJECTS = env.int("TUTOR_DIRECTORY_WARM_SUBJECTS", default=20)


DATABASE_ROUTERS = ["wemaster.core.db_router.PrimaryReplicaRouter"]

CELERY_BEAT_SCHEDULE.update(
    {
        "warm-cache": {
            "task": "wemaster.core.tasks.warm_cache",
            "schedule": float(CACHE_WARM_INTERVAL_SECONDS),
        }
    }
)

# --- feature flags (django-waffle, wemaster/flags; docs/OPERATIONS.md, Feature flags) ---
# Decisions use stable per-user buckets, never waffle's cookie: its middleware is not installed.
WAFFLE_FLAG_MODEL = "flags.Flag"
# Flags, switches and samples are edited through our admin (wemaster/flags/admin.py), which saves
# through the flags services; waffle's own pages would write the rows directly.
WAFFLE_ENABLE_ADMIN_PAGES = False

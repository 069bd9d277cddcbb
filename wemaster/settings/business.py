"""Business settings: limits, windows, commission and the schedules of each domain's tasks.

Constants a business person may change live here, each from the environment; the system checks in
wemaster/core/checks.py refuse an invalid combination at start. Loaded after `base`, whose Celery
beat schedule and OpenAPI enum names each domain adds its entries to.
"""

from wemaster.settings.base import ALLOWED_HOSTS, CELERY_BEAT_SCHEDULE, SPECTACULAR_SETTINGS, VAR_DIR, env

# --- business limits (a business person may change these) --------------------------------------
# A tutor's hourly rate, in cents: at least MIN (a 15-minute lesson then costs at least 0.25).
MIN_HOURLY_RATE_MINOR = env.int("MIN_HOURLY_RATE_MINOR", default=100)
MAX_HOURLY_RATE_MINOR = env.int("MAX_HOURLY_RATE_MINOR", default=100_000)
# How many subjects and teaching languages one tutor profile may list.
TUTOR_MAX_SUBJECTS = env.int("TUTOR_MAX_SUBJECTS", default=20)
TUTOR_MAX_LANGUAGES = env.int("TUTOR_MAX_LANGUAGES", default=10)
PAYMENT_GATEWAY = env.str("PAYMENT_GATEWAY", default="wemaster.core.payments.sandbox.SandboxGateway")
# The sandbox provider's own record (wemaster/core/payments/sandbox.py). On PostgreSQL it is a
# table of the same database written through a connection of its own; on SQLite a file of its own.
PAYMENT_SANDBOX_SQLITE_PATH = env.path("PAYMENT_SANDBOX_SQLITE_PATH", default=VAR_DIR / "payments-sandbox.sqlite3")
PAYMENT_SANDBOX_LATENCY_MS = env.int("PAYMENT_SANDBOX_LATENCY_MS", default=0)
PAYMENT_SANDBOX_TRANSIENT_RATE = env.float("PAYMENT_SANDBOX_TRANSIENT_RATE", default=0.0)
PAYMENT_SANDBOX_TIMEOUT_RATE = env.float("PAYMENT_SANDBOX_TIMEOUT_RATE", default=0.0)
# Intents (top-ups, payouts) still pending this long are resolved by asking the provider by key
# (beat task); longer than any provider call can take, so a running request is never raced.
PAYMENTS_RECOVERY_AFTER_SECONDS = env.int("PAYMENTS_RECOVERY_AFTER_SECONDS", default=120)
PAYMENTS_RECOVERY_EVERY_SECONDS = env.int("PAYMENTS_RECOVERY_EVERY_SECONDS", default=60)
# `reconcile` reports intents still unresolved this long after they were made.
PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS = env.int("PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS", default=3600)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=48)
CELERY_BEAT_SCHEDULE.update(
    {
        "prune-idempotency-keys": {
            "task": "wemaster.core.tasks.idempotency_keys_prune",
            "schedule": env.int("IDEMPOTENCY_PRUNE_EVERY_SECONDS", default=3600),
        }
    }
)

# --- community ---
COMMUNITY_MAX_TAGS_PER_POST = env.int("COMMUNITY_MAX_TAGS_PER_POST", default=5)
COMMUNITY_EXCERPT_LENGTH = env.int("COMMUNITY_EXCERPT_LENGTH", default=200)
# trending = (reactions + COMMENT_WEIGHT * comments + 1) / (age_hours + 2) ** GRAVITY
COMMUNITY_TRENDING_COMMENT_WEIGHT = env.float("COMMUNITY_TRENDING_COMMENT_WEIGHT", default=2.0)
COMMUNITY_TRENDING_GRAVITY = env.float("COMMUNITY_TRENDING_GRAVITY", default=1.5)
COMMUNITY_TRENDING_WINDOW_HOURS = env.int("COMMUNITY_TRENDING_WINDOW_HOURS", default=7 * 24)
COMMUNITY_TRENDING_REFRESH_SECONDS = env.int("COMMUNITY_TRENDING_REFRESH_SECONDS", default=300)
COMMUNITY_LIST_CACHE_TTL = env.int("COMMUNITY_LIST_CACHE_TTL", default=120)
COMMUNITY_TAGS_CACHE_TTL = env.int("COMMUNITY_TAGS_CACHE_TTL", default=600)
# Full-text search first tests this many posts in the list's order (a bounded walk); when they hold
# too few matches for a page, the matches come from the GIN index (community.selectors).
COMMUNITY_SEARCH_WINDOW = env.int("COMMUNITY_SEARCH_WINDOW", default=1000)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "PostKindEnum": "community.models.PostKind",
        "ReactionKindEnum": "community.models.ReactionKind",
    }
)
CELERY_BEAT_SCHEDULE.update(
    {
        "community-trending-refresh": {
            "task": "community.tasks.trending_refresh",
            "schedule": COMMUNITY_TRENDING_REFRESH_SECONDS,
        }
    }
)

# --- lessons ---
# A lesson's length: between the minimum and maximum, in steps of LESSONS_DURATION_STEP_MINUTES.
LESSONS_MIN_DURATION_MINUTES = env.int("LESSONS_MIN_DURATION_MINUTES", default=15)
LESSONS_MAX_DURATION_MINUTES = env.int("LESSONS_MAX_DURATION_MINUTES", default=240)
LESSONS_DURATION_STEP_MINUTES = env.int("LESSONS_DURATION_STEP_MINUTES", default=15)
# A student cancelling later than this many hours before the start pays the tutor a share.
LESSONS_FREE_CANCELLATION_HOURS = env.int("LESSONS_FREE_CANCELLATION_HOURS", default=24)
LESSONS_LATE_CANCELLATION_TUTOR_SHARE_PERCENT = env.int("LESSONS_LATE_CANCELLATION_TUTOR_SHARE_PERCENT", default=50)
# After a lesson ends the student may report a problem for this many hours (the lesson is then
# disputed until staff resolve it); the tutor's completion waits until the window has closed.
LESSONS_PROBLEM_REPORT_WINDOW_HOURS = env.int("LESSONS_PROBLEM_REPORT_WINDOW_HOURS", default=24)
# Booked lessons are completed automatically this many hours after they end, and never before the
# problem-report window has closed: the delay is max(this, LESSONS_PROBLEM_REPORT_WINDOW_HOURS).
LESSONS_AUTO_COMPLETE_AFTER_HOURS = env.int("LESSONS_AUTO_COMPLETE_AFTER_HOURS", default=24)
LESSONS_AUTO_COMPLETE_BATCH_SIZE = env.int("LESSONS_AUTO_COMPLETE_BATCH_SIZE", default=200)

# Reviews: the student may edit a review for this many days after writing it.
REVIEWS_EDIT_WINDOW_DAYS = env.int("REVIEWS_EDIT_WINDOW_DAYS", default=7)
# How long a tutor's first page of reviews is cached (each review change invalidates it on commit).
REVIEWS_LIST_TTL = env.int("REVIEWS_LIST_TTL", default=300)
# Tutor availability and bookable slots (wemaster.scheduling). Slot starts, and the times of
# availability windows, lie on a SLOT_STEP_MINUTES grid; a slot keeps LESSON_BUFFER_MINUTES away
# from the tutor's booked lessons; one slots request spans at most SLOTS_MAX_RANGE_DAYS.
SLOT_STEP_MINUTES = env.int("SLOT_STEP_MINUTES", default=30)
LESSON_BUFFER_MINUTES = env.int("LESSON_BUFFER_MINUTES", default=10)
SLOTS_MAX_RANGE_DAYS = env.int("SLOTS_MAX_RANGE_DAYS", default=31)
SLOTS_DEFAULT_RANGE_DAYS = env.int("SLOTS_DEFAULT_RANGE_DAYS", default=7)
SLOTS_CACHE_TTL_SECONDS = env.int("SLOTS_CACHE_TTL_SECONDS", default=300)
# The directory's free-time filter (GET /tutors?free_from=&free_to=): a range of at most this many
# days; candidates are tested BATCH at a time (one slots query each), at most SCAN per page.
DIRECTORY_FREE_TIME_MAX_RANGE_DAYS = env.int("DIRECTORY_FREE_TIME_MAX_RANGE_DAYS", default=7)
DIRECTORY_FREE_TIME_BATCH = env.int("DIRECTORY_FREE_TIME_BATCH", default=50)
DIRECTORY_FREE_TIME_SCAN = env.int("DIRECTORY_FREE_TIME_SCAN", default=500)
AVAILABILITY_MAX_WINDOWS = env.int("AVAILABILITY_MAX_WINDOWS", default=50)
AVAILABILITY_MAX_EXCEPTIONS = env.int("AVAILABILITY_MAX_EXCEPTIONS", default=200)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "DisputeOutcomeEnum": "wemaster.lessons.models.DisputeOutcome",
        "RefundStatusEnum": "wemaster.lessons.models.RefundStatus",
    }
)
CELERY_BEAT_SCHEDULE.update(
    {
        "lessons-auto-complete": {
            "task": "wemaster.lessons.tasks.lessons_auto_complete",
            "schedule": env.int("LESSONS_AUTO_COMPLETE_EVERY_SECONDS", default=900),
        }
    }
)

# --- messaging ---------------------------------------------------------------------------------
MESSAGING_MAX_BODY_CHARS = env.int("MESSAGING_MAX_BODY_CHARS", default=5000)
MESSAGING_MAX_GROUP_MEMBERS = env.int("MESSAGING_MAX_GROUP_MEMBERS", default=50)
MESSAGING_HISTORY_DEFAULT_LIMIT = env.int("MESSAGING_HISTORY_DEFAULT_LIMIT", default=50)
MESSAGING_UNREAD_CACHE_TTL = env.int("MESSAGING_UNREAD_CACHE_TTL", default=300)
MESSAGING_TYPING_THROTTLE_SECONDS = env.int("MESSAGING_TYPING_THROTTLE_SECONDS", default=3)
MESSAGING_EVENT_RETENTION_HOURS = env.int("MESSAGING_EVENT_RETENTION_HOURS", default=24)
MESSAGING_EVENT_PRUNE_INTERVAL = env.int("MESSAGING_EVENT_PRUNE_INTERVAL", default=3600)
# A replay holds one batch while a slow client drains it: rows x the largest event bounds a socket.
MESSAGING_REPLAY_BATCH = env.int("MESSAGING_REPLAY_BATCH", default=100)
MESSAGING_WS_IDLE_TIMEOUT = env.int("MESSAGING_WS_IDLE_TIMEOUT", default=300)
# Websocket bounds (README, Messaging: "Websocket limits").
MESSAGING_WS_ALLOWED_ORIGINS = env.list("MESSAGING_WS_ALLOWED_ORIGINS", default=ALLOWED_HOSTS)
MESSAGING_WS_MAX_QUERY_BYTES = env.int("MESSAGING_WS_MAX_QUERY_BYTES", default=2048)
MESSAGING_WS_MAX_FRAME_BYTES = env.int("MESSAGING_WS_MAX_FRAME_BYTES", default=64 * 1024)
MESSAGING_WS_MAX_SOCKETS_PER_USER = env.int("MESSAGING_WS_MAX_SOCKETS_PER_USER", default=10)
MESSAGING_WS_SEND_TIMEOUT = env.float("MESSAGING_WS_SEND_TIMEOUT", default=20.0)
CELERY_BEAT_SCHEDULE.update(
    {
        "messaging-prune-events": {
            "task": "messaging.tasks.events_prune",
            "schedule": MESSAGING_EVENT_PRUNE_INTERVAL,
        },
    }
)

# --- notifications ------------------------------------------------------------------------------
# Unread notifications of a user with no open socket are mailed (one digest per user and run)
# once they are this old; the beat task runs this often and takes this many users per run.
NOTIFICATION_EMAIL_DELAY_MINUTES = env.int("NOTIFICATION_EMAIL_DELAY_MINUTES", default=10)
NOTIFICATION_EMAIL_EVERY_SECONDS = env.int("NOTIFICATION_EMAIL_EVERY_SECONDS", default=60)
NOTIFICATION_EMAIL_BATCH = env.int("NOTIFICATION_EMAIL_BATCH", default=500)
# Older notifications are never mailed (a user back after a long absence gets no stale digest).
NOTIFICATION_EMAIL_MAX_AGE_HOURS = env.int("NOTIFICATION_EMAIL_MAX_AGE_HOURS", default=72)
NOTIFICATION_EMAIL_MAX_PER_DIGEST = env.int("NOTIFICATION_EMAIL_MAX_PER_DIGEST", default=50)
# The unsubscribe link of the digest, `{token}` filled in (e.g.
# https://api.example.com/api/v1/notifications/unsubscribe?token={token}); without it the mail
# names the API call.
NOTIFICATION_UNSUBSCRIBE_URL = env.str("NOTIFICATION_UNSUBSCRIBE_URL", default="")
CELERY_BEAT_SCHEDULE.update(
    {
        "notifications-email-digests": {
            "task": "wemaster.notifications.tasks.email_digests_send",
            "schedule": NOTIFICATION_EMAIL_EVERY_SECONDS,
        },
    }
)


# --- earnings ---
# Commission by lifetime hours taught: "hours:percent" pairs, e.g. 0h 25 %, 20h 20 %, 100h 15 %.
EARNINGS_COMMISSION_TIERS = [
    (int(hours), int(percent))
    for hours, percent in (
        pair.split(":") for pair in env.list("EARNINGS_COMMISSION_TIERS", default=["0:25", "20:20", "100:15"])
    )
]
EARNINGS_CLEARANCE_DAYS = env.int("EARNINGS_CLEARANCE_DAYS", default=7)
EARNINGS_CLEARANCE_BATCH_SIZE = env.int("EARNINGS_CLEARANCE_BATCH_SIZE", default=500)
EARNINGS_MIN_PAYOUT_MINOR = env.int("EARNINGS_MIN_PAYOUT_MINOR", default=2_000)
EARNINGS_PAYOUT_MAX_RETRIES = env.int("EARNINGS_PAYOUT_MAX_RETRIES", default=5)
EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS = env.int("EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS", default=30)
EARNINGS_PAYOUT_RETRY_BACKOFF_MAX_SECONDS = env.int("EARNINGS_PAYOUT_RETRY_BACKOFF_MAX_SECONDS", default=1800)
EARNINGS_CACHE_TTL_SECONDS = env.int("EARNINGS_CACHE_TTL_SECONDS", default=300)
# The overview warmer covers tutors with an earning in this many recent days.
EARNINGS_WARM_ACTIVE_DAYS = env.int("EARNINGS_WARM_ACTIVE_DAYS", default=30)
CELERY_BEAT_SCHEDULE.update(
    {
        "earnings-clearance": {
            "task": "earnings.tasks.earnings_clear_due",
            "schedule": env.int("EARNINGS_CLEARANCE_EVERY_SECONDS", default=600),
        },
        "earnings-payout-requeue": {
            "task": "earnings.tasks.withdrawals_requeue_stuck",
            "schedule": env.int("EARNINGS_PAYOUT_REQUEUE_EVERY_SECONDS", default=300),
        },
    }
)
# A withdrawal in flight untouched this long lost its payout task (a Redis restart empties the
# queue; a task that died on a dropped database connection is not retried): queue it again.
EARNINGS_PAYOUT_REQUEUE_AFTER_SECONDS = env.int("EARNINGS_PAYOUT_REQUEUE_AFTER_SECONDS", default=900)

# --- wallet ---
# Amounts in cents. A top-up (and each auto-reload) must lie within [min, max].
WALLET_TOP_UP_MIN_MINOR = env.int("WALLET_TOP_UP_MIN_MINOR", default=500)
WALLET_TOP_UP_MAX_MINOR = env.int("WALLET_TOP_UP_MAX_MINOR", default=100_000)
# Cards a student may keep (bounds the payment-method list, which is not paginated).
WALLET_MAX_PAYMENT_METHODS = env.int("WALLET_MAX_PAYMENT_METHODS", default=10)
# Auto-reload defaults for a new wallet (off until the student turns it on).
WALLET_AUTO_RELOAD_DEFAULT_THRESHOLD_MINOR = env.int("WALLET_AUTO_RELOAD_DEFAULT_THRESHOLD_MINOR", default=1_000)
WALLET_AUTO_RELOAD_DEFAULT_AMOUNT_MINOR = env.int("WALLET_AUTO_RELOAD_DEFAULT_AMOUNT_MINOR", default=2_500)
WALLET_AUTO_RELOAD_DEFAULT_MONTHLY_CAP_MINOR = env.int("WALLET_AUTO_RELOAD_DEFAULT_MONTHLY_CAP_MINOR", default=20_000)
# Consecutive failed reloads before auto-reload turns itself off.
WALLET_AUTO_RELOAD_MAX_FAILURES = env.int("WALLET_AUTO_RELOAD_MAX_FAILURES", default=3)
# A reload claimed longer ago than this (a worker died mid-way) may be taken over.
WALLET_AUTO_RELOAD_IN_FLIGHT_TIMEOUT_SECONDS = env.int("WALLET_AUTO_RELOAD_IN_FLIGHT_TIMEOUT_SECONDS", default=300)
# Transient gateway failures: retries of the reload task and the delay between them.
WALLET_AUTO_RELOAD_MAX_RETRIES = env.int("WALLET_AUTO_RELOAD_MAX_RETRIES", default=5)
WALLET_AUTO_RELOAD_RETRY_DELAY_SECONDS = env.int("WALLET_AUTO_RELOAD_RETRY_DELAY_SECONDS", default=30)
CELERY_BEAT_SCHEDULE.update(
    {
        "resolve-unresolved-top-ups": {
            "task": "wallet.top_ups_resolve_unresolved",
            "schedule": PAYMENTS_RECOVERY_EVERY_SECONDS,
        },
    }
)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["TopUpStatusEnum"] = "wallet.models.TopUpStatus"

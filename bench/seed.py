"""Benchmark data: realistic, skewed, large, written with PostgreSQL COPY.

`manage.py seed_bench --scale small|medium|large` calls `seed()` on an empty (migrated)
database. Ids are assigned here and the sequences moved past them at the end, so rows can
reference each other without a round trip. Money is consistent with the ledger invariants
(`manage.py reconcile` stays clean): every transfer balances, every balance is the sum of
its entries, holds of completed lessons are posted, tutor pending = pending earnings.

What the benchmark needs is written to a JSON file (tokens, ids, depths): see `seed()`.
"""

import json
import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection

PASSWORD = "bench-password-2026"
DOMAIN = "bench.wemaster.test"
WS_CLIENTS = 1_000
STAR_TUTOR_LESSONS = 10_000
HEAVY_HISTORY = 100_000
HEAVY_CONVERSATIONS = 30


@dataclass(frozen=True)
class Scale:
    students: int
    tutors: int
    conversations: int  # ordinary 1:1 conversations between students
    big_conversation: int  # messages in the one deep conversation
    posts: int


SCALES = {
    "small": Scale(students=2_000, tutors=100, conversations=2_000, big_conversation=10_000, posts=10_000),
    "medium": Scale(students=20_000, tutors=1_000, conversations=20_000, big_conversation=100_000, posts=100_000),
    "large": Scale(students=200_000, tutors=10_000, conversations=200_000, big_conversation=1_000_000, posts=1_000_000),
}

SUBJECTS = [
    "mathematics", "algebra", "calculus", "statistics", "physics", "chemistry", "biology", "programming",
    "python", "english", "spanish", "french", "german", "literature", "history", "economics", "music",
    "guitar", "piano", "art",
]  # fmt: skip
WORDS = (
    "learn teach lesson practice exam question answer proof theorem grammar verb essay chord scale "
    "derivative integral vector matrix molecule reaction cell energy force wave market supply demand "
    "history novel poem melody rhythm sketch color method tip idea help thanks example problem solution"
).split()


def zipf_index(rng: random.Random, n: int, s: float = 1.1) -> int:
    """An index in [0, n) drawn with a power-law skew (a few popular, a long tail)."""
    u = rng.random()
    return min(n - 1, int(n ** (u**s)) - 1) if n > 1 else 0


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


class Ids:
    """Next id per table; `setval` at the end moves each sequence past what was used."""

    def __init__(self):
        self.next: dict[str, int] = defaultdict(lambda: 1)

    def take(self, table: str, count: int = 1) -> int:
        first = self.next[table]
        self.next[table] += count
        return first


def copy_rows(table: str, columns: list[str], rows, progress=None, total=None, desc=None) -> int:
    written = 0
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            iterable = progress(rows, desc=desc or table, total=total) if progress else rows
            for row in iterable:
                copy.write_row(row)
                written += 1
    return written


def seed(*, scale: str, out: Path, progress, seed_value: int = 2026) -> dict:
    # Token helpers need configured settings (knox reads DRF's at import): imported here, so the
    # benchmark's runner can import this module (depth_points) before it sets Django up.
    from knox.crypto import create_token_string, hash_token
    from knox.settings import knox_settings

    from wemaster.core.revocation import token_key_of

    size = SCALES[scale]
    rng = random.Random(seed_value)
    ids = Ids()
    now = datetime.now(UTC).replace(microsecond=0)
    currency = settings.CURRENCY
    password_hash = make_password(PASSWORD)
    with connection.cursor() as cursor:
        # Triggers (the ledger's per-row balance check) are re-verified by `reconcile` afterwards.
        cursor.execute("SET session_replication_role = replica")

    # --- users, tutor profiles, tokens --------------------------------------------------------
    student_ids = list(range(ids.take("accounts_user", size.students), ids.next["accounts_user"]))
    tutor_ids = list(range(ids.take("accounts_user", size.tutors), ids.next["accounts_user"]))
    heavy_user, new_user, ws_sender = ids.take("accounts_user", 3), None, None
    new_user, ws_sender = heavy_user + 1, heavy_user + 2

    def user_rows():
        for index, user_id in enumerate(student_ids, 1):
            joined = now - timedelta(days=rng.randint(30, 900))
            yield (user_id, password_hash, False, f"student{index}@{DOMAIN}", "student", f"Student {index}", "", True,
                   False, joined)  # fmt: skip
        for index, user_id in enumerate(tutor_ids, 1):
            joined = now - timedelta(days=rng.randint(400, 1500))
            yield (user_id, password_hash, False, f"tutor{index}@{DOMAIN}", "tutor", f"Tutor {index}",
                   text(rng, 20), True, False, joined)  # fmt: skip
        for user_id, name in ((heavy_user, "heavy"), (new_user, "new"), (ws_sender, "sender")):
            yield (user_id, password_hash, False, f"{name}@{DOMAIN}", "student", name.title(), "", True, False,
                   now - timedelta(days=500))  # fmt: skip

    columns = ["id", "password", "is_superuser", "email", "role", "display_name", "bio", "is_active", "is_staff",
               "date_joined"]  # fmt: skip
    copy_rows("accounts_user", columns, user_rows(), progress, size.students + size.tutors + 3, "users")
    all_users = [*student_ids, *tutor_ids, heavy_user, new_user, ws_sender]
    # Device tokens as knox issues them: the manifest keeps the token, the table its digest.
    tokens = {user_id: create_token_string() for user_id in all_users}
    expiry = now + knox_settings.TOKEN_TTL
    copy_rows(
        "accounts_devicetoken",
        ["digest", "token_key", "user_id", "created", "expiry", "last_used", "name"],
        ((hash_token(t), token_key_of(t), u, now, expiry, now, "bench") for u, t in tokens.items()),
    )

    subject_ids = {name: ids.take("accounts_subject") for name in SUBJECTS}
    copy_rows("accounts_subject", ["id", "name"], ((i, name) for name, i in subject_ids.items()))
    tutor_subjects: dict[int, list[int]] = {}
    rates: dict[int, int] = {}
    for tutor_id in tutor_ids:
        tutor_subjects[tutor_id] = rng.sample(list(subject_ids.values()), rng.randint(1, 4))
        rates[tutor_id] = rng.randrange(2_000, 12_000, 100)
    copy_rows(
        "accounts_tutorprofile",
        ["user_id", "hourly_rate", "currency", "rating", "review_count"],
        ((t, rates[t], currency, round(rng.uniform(3.5, 5.0), 2), rng.randint(1, 200)) for t in tutor_ids),
    )
    copy_rows(
        "accounts_tutorprofile_subjects",
        ["id", "tutorprofile_id", "subject_id"],
        ((ids.take("tp_subjects"), t, s) for t in tutor_ids for s in tutor_subjects[t]),
    )
    # Every tutor is available all week (a tutor without availability cannot be booked): the
    # booking workload picks its times at random.
    copy_rows(
        "scheduling_availabilitywindow",
        ["id", "tutor_id", "weekday", "start_minute", "end_minute"],
        ((ids.take("scheduling_availabilitywindow"), t, day, 0, 24 * 60) for t in tutor_ids for day in range(7)),
    )

    # --- ledger: top-ups, one star tutor's 10,000 completed lessons, clearances ----------------
    star = tutor_ids[0]
    accounts: dict[tuple, int] = {}

    def account(kind: str, owner: int | None) -> int:
        key = (kind, owner)
        if key not in accounts:
            accounts[key] = ids.take("ledger_account")
        return accounts[key]

    revenue, external = account("platform_revenue", None), account("external_funding", None)
    events = []  # (time, order, kind, payload)
    payers = [*student_ids, heavy_user]
    for student_id in payers:
        events.append((now - timedelta(days=800, minutes=rng.randint(0, 50_000)), 0, "top_up", (student_id, 0)))
    lesson_times = sorted(now - timedelta(minutes=rng.randint(60, 720 * 24 * 60)) for _ in range(STAR_TUTOR_LESSONS))
    for at in lesson_times:
        events.append((at, 1, "lesson", payers[zipf_index(rng, len(payers), 1.05)]))
    events.sort(key=lambda event: (event[0], event[1]))

    balances: dict[int, int] = defaultdict(int)
    transfers, entries, holds, lessons, earnings = [], [], [], [], []
    clearances = []
    minutes_taught = 0
    tiers = sorted(settings.EARNINGS_COMMISSION_TIERS)
    star_subjects = tutor_subjects[star]
    clearance_days = settings.EARNINGS_CLEARANCE_DAYS

    def move(kind: str, reference: str, at: datetime, legs: list[tuple[int, int]]) -> int:
        transfer_id = ids.take("ledger_transfer")
        transfers.append((transfer_id, kind, reference, currency, "", at))
        for account_id, amount in legs:
            balances[account_id] += amount
            entries.append((ids.take("ledger_entry"), amount, balances[account_id], at, account_id, transfer_id))
        return transfer_id

    def top_up(student_id: int, at: datetime, amount: int) -> None:
        wallet = account("student_wallet", student_id)
        move("top_up", f"seed-top-up:{uuid.uuid4().hex}", at, [(external, -amount), (wallet, amount)])

    def pending_clearances(until: datetime) -> None:
        while clearances and clearances[0][0] <= until:
            at, earning_index = clearances.pop(0)
            row = earnings[earning_index]
            pending, available = account("tutor_pending", star), account("tutor_available", star)
            move("earning_clearance", f"earning:{row[0]}", at, [(pending, -row[7]), (available, row[7])])
            earnings[earning_index] = (*row[:9], "available", row[10], row[11], at, *row[13:])

    price = rates[star]  # 60-minute lessons
    for at, _, kind, payload in progress(events, desc="ledger", total=len(events)):
        pending_clearances(at)
        if kind == "top_up":
            top_up(payload[0], at, rng.randrange(20_000, 200_000, 500))
            continue
        student_id = payload
        wallet = account("student_wallet", student_id)
        if balances[wallet] < price:
            top_up(student_id, at - timedelta(minutes=1), 50_000)
        percent = tiers[0][1]
        for hours, tier_percent in tiers:
            if minutes_taught >= hours * 60:
                percent = tier_percent
        commission = (price * percent + 50) // 100
        net = price - commission
        lesson_id, hold_id = ids.take("lessons_lesson"), ids.take("ledger_hold")
        legs = [(wallet, -price), (account("tutor_pending", star), net)] + (
            [(revenue, commission)] if commission else []
        )
        transfer_id = move("lesson_charge", f"lesson:{lesson_id}", at, legs)
        booked_at = at - timedelta(days=rng.randint(1, 14))
        holds.append((hold_id, price, "posted", f"lesson-hold:{uuid.uuid4().hex}", booked_at, at, wallet, transfer_id))
        subject_id = star_subjects[lesson_id % len(star_subjects)]
        lessons.append((lesson_id, at - timedelta(minutes=60), at, 60, currency, price, commission, 0, "completed",
                        booked_at, at, at, None, hold_id, student_id, subject_id, star))  # fmt: skip
        available_on = at + timedelta(days=clearance_days)
        earning_id = ids.take("earnings_earning")
        earnings.append((earning_id, "lesson", lesson_id, 60, currency, price, commission, net, percent, "pending",
                         at, available_on, None, None, at, student_id, subject_id, star))  # fmt: skip
        if available_on <= now:
            clearances.append((available_on, len(earnings) - 1))
        minutes_taught += 60
    pending_clearances(now)
    # Every student can afford a few dozen bookings in the benchmark.
    for student_id in payers:
        top_up(student_id, now - timedelta(minutes=5), 300_000)

    account_rows = [
        (account_id, kind, currency, balances[account_id], 0, now - timedelta(days=900), owner)
        for (kind, owner), account_id in accounts.items()
    ]
    copy_rows("ledger_account", ["id", "kind", "currency", "balance", "held", "created_at", "owner_id"], account_rows)
    copy_rows("ledger_transfer", ["id", "kind", "reference", "currency", "description", "created_at"], transfers)
    copy_rows(
        "ledger_entry",
        ["id", "amount", "balance_after", "created_at", "account_id", "transfer_id"],
        entries,
        progress,
        len(entries),
        "ledger entries",
    )
    copy_rows(
        "ledger_hold",
        ["id", "amount", "status", "reference", "created_at", "resolved_at", "account_id", "transfer_id"],
        holds,
    )
    copy_rows(
        "lessons_lesson",
        ["id", "starts_at", "ends_at", "duration_minutes", "currency", "price", "commission", "cancellation_fee",
         "status", "created_at", "updated_at", "completed_at", "cancelled_at", "hold_id", "student_id", "subject_id",
         "tutor_id"],
        lessons,
    )  # fmt: skip
    copy_rows(
        "earnings_earning",
        ["id", "kind", "lesson_id", "minutes", "currency", "gross", "commission", "net", "commission_percent",
         "status", "earned_at", "available_on", "cleared_at", "refunded_at", "created_at", "student_id",
         "subject_id", "tutor_id"],
        earnings,
    )  # fmt: skip

    # --- messaging ----------------------------------------------------------------------------
    conversations, memberships = [], []
    message_columns = ["id", "body", "created_at", "conversation_id", "sender_id"]

    def conversation(a: int, b: int, count: int, start: datetime, read_all: bool = True, unread: int = 0):
        """A 1:1 conversation with `count` messages, contiguous ids, alternating senders."""
        conversation_id = ids.take("messaging_conversation")
        first = ids.take("messaging_message", count)
        last = first + count - 1 if count else None
        step = (now - start) / max(count, 1)
        last_at = start + step * count if count else start
        low, high = sorted((a, b))
        conversations.append((conversation_id, "direct", "", f"{low}:{high}", start, last_at, a, last))
        for user_id in (a, b):
            pointer = (last or 0) if read_all and not (user_id == a and unread) else max((last or 0) - unread, 0)
            memberships.append((ids.take("messaging_membership"), pointer, start, None, conversation_id, user_id))

        def rows():
            local = random.Random(conversation_id)
            for offset in range(count):
                sender = a if local.random() < 0.5 else b
                yield (
                    first + offset,
                    text(local, local.randint(3, 25)),
                    start + step * offset,
                    conversation_id,
                    sender,
                )

        return conversation_id, first, rows

    star_token_user = star
    big_id, big_first, big_rows = conversation(heavy_user, star, size.big_conversation, now - timedelta(days=700),
                                               unread=20)  # fmt: skip
    copy_rows("messaging_message", message_columns, big_rows(), progress, size.big_conversation, "deep conversation")
    extra = max(0, HEAVY_HISTORY - size.big_conversation)
    per_conversation = extra // (HEAVY_CONVERSATIONS - 1)
    for index in range(HEAVY_CONVERSATIONS - 1):
        partner = tutor_ids[1 + index % (len(tutor_ids) - 1)]
        _, _, rows = conversation(heavy_user, partner, per_conversation, now - timedelta(days=600), unread=index % 3)
        copy_rows("messaging_message", message_columns, rows())
    ws_users = student_ids[:WS_CLIENTS]
    ws_conversations = {}
    for user_id in ws_users:
        conversation_id, _, rows = conversation(ws_sender, user_id, 1, now - timedelta(days=1))
        ws_conversations[user_id] = conversation_id
        copy_rows("messaging_message", message_columns, rows())
    general_total = 0
    pairs = set()

    def general_rows():
        nonlocal general_total
        for _ in range(size.conversations):
            a, b = rng.sample(student_ids, 2)
            if (min(a, b), max(a, b)) in pairs or ws_sender in (a, b):
                continue
            pairs.add((min(a, b), max(a, b)))
            count = 1 + zipf_index(rng, 60, 1.3)
            start = now - timedelta(days=rng.randint(1, 400))
            _, _, rows = conversation(a, b, count, start, read_all=rng.random() < 0.7, unread=2)
            general_total += count
            yield from rows()

    copy_rows("messaging_message", message_columns, general_rows(), progress, None, "conversations")
    copy_rows(
        "messaging_conversation",
        ["id", "kind", "title", "pair_key", "created_at", "last_activity_at", "created_by_id", "last_message_id"],
        conversations,
    )
    copy_rows(
        "messaging_membership",
        ["id", "last_read_message_id", "joined_at", "left_at", "conversation_id", "user_id"],
        memberships,
    )

    # --- community ----------------------------------------------------------------------------
    tag_names = [f"{subject}" for subject in SUBJECTS] + [f"topic-{i}" for i in range(180)]
    tag_ids = [ids.take("community_tag") for _ in tag_names]
    tag_counts: dict[int, int] = defaultdict(int)
    authors = [*tutor_ids, *student_ids]
    post_times = sorted(now - timedelta(minutes=rng.randint(1, 365 * 24 * 60)) for _ in range(size.posts))
    post_first = ids.take("community_post", size.posts)
    comment_rows, reaction_rows, post_tags, posts = [], [], [], []
    reaction_kinds = ["like", "like", "like", "insightful", "thanks"]
    gravity = settings.COMMUNITY_TRENDING_GRAVITY
    weight = settings.COMMUNITY_TRENDING_COMMENT_WEIGHT
    window = timedelta(hours=settings.COMMUNITY_TRENDING_WINDOW_HOURS)
    for offset, created in enumerate(progress(post_times, desc="posts (generate)", total=size.posts)):
        post_id = post_first + offset
        author = authors[zipf_index(rng, len(authors), 1.2)]
        for tag_id in {tag_ids[zipf_index(rng, len(tag_ids))] for _ in range(rng.randint(1, 3))}:
            post_tags.append((ids.take("community_posttag"), post_id, tag_id))
            tag_counts[tag_id] += 1
        reactions = min(zipf_index(rng, 120, 4.0), len(all_users) - 1)
        for user_id in rng.sample(all_users, reactions):
            reaction_rows.append(
                (ids.take("community_reaction"), rng.choice(reaction_kinds), created, post_id, user_id)
            )
        comments = zipf_index(rng, 40, 3.5)
        top_level = []
        for _ in range(comments):
            comment_id = ids.take("community_comment")
            parent = rng.choice(top_level) if top_level and rng.random() < 0.3 else None
            if parent is None:
                top_level.append(comment_id)
            comment_rows.append((comment_id, text(rng, rng.randint(5, 40)), False, None, created, created,
                                 authors[zipf_index(rng, len(authors))], parent, post_id))  # fmt: skip
        age_hours = max((now - created).total_seconds() / 3600, 0)
        trending = (reactions + weight * comments + 1) / (age_hours + 2) ** gravity if now - created < window else 0
        kind = "question" if rng.random() < 0.3 else "discussion"
        title = text(rng, rng.randint(4, 10)).capitalize()
        posts.append((post_id, kind, title, text(rng, rng.randint(30, 150)), reactions, comments, trending, False,
                      None, created, created, None, author))  # fmt: skip
    copy_rows(
        "community_tag",
        ["id", "name", "post_count", "created_at"],
        (
            (tag_id, name, tag_counts[tag_id], now - timedelta(days=400))
            for tag_id, name in zip(tag_ids, tag_names, strict=True)
        ),
    )
    copy_rows(
        "community_post",
        ["id", "kind", "title", "body", "reaction_count", "comment_count", "trending_score", "is_hidden",
         "deleted_at", "created_at", "updated_at", "accepted_comment_id", "author_id"],
        posts, progress, len(posts), "posts",
    )  # fmt: skip
    copy_rows("community_posttag", ["id", "post_id", "tag_id"], post_tags)
    copy_rows(
        "community_comment",
        ["id", "body", "is_hidden", "deleted_at", "created_at", "updated_at", "author_id", "parent_id", "post_id"],
        comment_rows, progress, len(comment_rows), "comments",
    )  # fmt: skip
    copy_rows(
        "community_reaction",
        ["id", "kind", "created_at", "post_id", "user_id"],
        reaction_rows,
        progress,
        len(reaction_rows),
        "reactions",
    )
    follows = []
    for follower in student_ids[: max(1, len(student_ids) // 2)]:
        for followed in {tutor_ids[zipf_index(rng, len(tutor_ids))] for _ in range(rng.randint(1, 6))}:
            follows.append((ids.take("community_follow"), now, followed, follower, None))
        for tag_id in {tag_ids[zipf_index(rng, len(tag_ids))] for _ in range(rng.randint(0, 3))}:
            follows.append((ids.take("community_follow"), now, None, follower, tag_id))
    copy_rows("community_follow", ["id", "created_at", "followed_user_id", "follower_id", "tag_id"], follows)

    # --- notifications: the star tutor's, one per booking as lesson_book makes them, the newest unread ---
    booked = sorted(lessons, key=lambda row: row[9])
    notification_rows = []
    for index, row in enumerate(booked):
        lesson_id, starts_at, booked_at, student_id = row[0], row[1], row[9], row[14]
        payload = {"lesson": lesson_id, "starts_at": f"{starts_at:%Y-%m-%dT%H:%M:%SZ}", "student": student_id}
        read_at = None if index >= len(booked) - 20 else booked_at
        notification_rows.append((ids.take("notifications_notification"), star, "lesson_booked", f"lesson:{lesson_id}",
                                  json.dumps(payload), booked_at, read_at, read_at))  # fmt: skip
    copy_rows(
        "notifications_notification",
        ["id", "recipient_id", "kind", "cause_key", "payload", "created_at", "read_at", "emailed_at"],
        notification_rows,
    )

    # --- reviews: the star tutor's students review every fifth completed lesson, as review_create
    # stores them (one per lesson), and the profile's rating is the mean of the visible ones ------
    review_rows = []
    for index, row in enumerate(lessons[::5]):
        lesson_id, ended_at, student_id = row[0], row[2], row[14]
        rating = 5 - zipf_index(rng, 5)
        reply, replied_at = ("Thank you!", ended_at + timedelta(hours=3)) if index % 3 == 0 else ("", None)
        review_rows.append((ids.take("reviews_review"), lesson_id, student_id, star, rating, text(rng, 12), reply,
                            replied_at, False, "", None, None, ended_at + timedelta(hours=1), None))  # fmt: skip
    copy_rows(
        "reviews_review",
        ["id", "lesson_id", "student_id", "tutor_id", "rating", "text", "reply", "replied_at", "is_hidden",
         "hidden_reason", "hidden_by_id", "hidden_at", "created_at", "edited_at"],
        review_rows,
    )  # fmt: skip
    if review_rows:
        total = sum(row[4] for row in review_rows)
        mean = (Decimal(total) / len(review_rows)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounts_tutorprofile SET rating = %s, review_count = %s WHERE user_id = %s",
                [mean, len(review_rows), star],
            )

    # --- sequences, statistics ------------------------------------------------------------------
    sequence_tables = {"tp_subjects": "accounts_tutorprofile_subjects"}
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = DEFAULT")
        for table in list(ids.next):
            real = sequence_tables.get(table, table)
            sequence = f"pg_get_serial_sequence('{real}', 'id')"
            cursor.execute(f"SELECT setval({sequence}, GREATEST((SELECT MAX(id) FROM {real}), 1))")
        cursor.execute("ANALYZE")

    big_last = big_first + size.big_conversation - 1
    manifest = {
        "scale": scale,
        "password": PASSWORD,
        "counts": {
            "students": size.students,
            "tutors": size.tutors,
            "ledger_entries": len(entries),
            "lessons": len(lessons),
            "messages": size.big_conversation + extra + len(ws_users) + general_total,
            "posts": size.posts,
            "comments": len(comment_rows),
            "reactions": len(reaction_rows),
            "follows": len(follows),
            "notifications": len(notification_rows),
        },
        "star_tutor": {"id": star_token_user, "token": tokens[star]},
        "heavy_user": {"id": heavy_user, "token": tokens[heavy_user], "history": size.big_conversation + extra},
        "new_user": {"id": new_user, "token": tokens[new_user]},
        "ws_sender": {"id": ws_sender, "token": tokens[ws_sender]},
        "ws_users": [{"id": u, "token": tokens[u], "conversation": ws_conversations[u]} for u in ws_users],
        "students": [{"id": u, "token": tokens[u]} for u in student_ids[:500]],
        "tutors": [
            {"id": t, "subjects": [name for name, i in subject_ids.items() if i in tutor_subjects[t]]}
            for t in tutor_ids[1:201]
        ],
        "subjects": SUBJECTS,
        "big_conversation": {"id": big_id, "first": big_first, "last": big_last, "count": size.big_conversation},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(manifest))
    return manifest


def depth_points(count: int) -> list[int]:
    """Depths from the newest message at which the benchmark reads a history page."""
    points = [0] + [10**k for k in range(2, int(math.log10(max(count, 1))) + 1) if 10**k < count - 100]
    return [*points, count - 100]

"""A Jepsen-style bank workload over the public API of a live system.

Client threads play students, tutors and staff for a fixed time: top-ups (some with a card
that declines), bookings, completions, cancellations, refund requests with staff approvals
or rejections, withdrawals (to banks that pay, reject, or fail transiently first) and
reads. The payment provider answers slowly and sometimes not at all after it has charged
(BANK_ENV): such a top-up answers 202 `processing`, and the client asks again with the same
key or polls the top-up until it has an outcome. A "beat" thread sends the clearance, payout
requeue and top-up resolver tasks through the broker (earnings clear at once in these runs,
top-ups are resolved after 3 s) and a sampler checks the ledger while the run goes on. Every
operation and every attempt lands in a `History` that `reliability.checker` judges at the end.

Needs Django configured against the live system's database (setup creates the staff user
and reads the ledger for the sampled checks).
"""

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import close_old_connections, connection

from reliability.client import ApiClient, History

PASSWORD = "reliability-Workload-9!"  # noqa: S105 - a throwaway user of a scratch database
SUBJECT = "algebra"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ALWAYS_AVAILABLE = {
    "windows": [{"weekday": day, "start": "00:00", "end": "24:00"} for day in WEEKDAYS],
    "exceptions": [],
}
CARD_TOKENS = ["tok_visa", "tok_visa", "tok_visa", "tok_chargeCustomerFail"]
BANK_TOKENS = ["btok_ok", "btok_flaky", "btok_fail"]
# Settings the live system runs the workload with (passed to LiveSystem.extra_env).
LIVE_ENV = {
    "EARNINGS_CLEARANCE_DAYS": "0",
    "EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS": "1",
    "EARNINGS_PAYOUT_RETRY_BACKOFF_MAX_SECONDS": "2",
    "EARNINGS_MIN_PAYOUT_MINOR": "1000",
    "EARNINGS_PAYOUT_REQUEUE_AFTER_SECONDS": "5",
}
# The bank run's payment provider: 200 ms per charge or payout (half before the money moves, half
# after: the window in which a killed web worker leaves a charge without a credit), one call in
# ten moves the money and loses the answer; intents are resolved by asking it after 3 s.
BANK_ENV = {
    **LIVE_ENV,
    "PAYMENT_SANDBOX_LATENCY_MS": "200",
    "PAYMENT_SANDBOX_TIMEOUT_RATE": "0.1",
    "PAYMENTS_RECOVERY_AFTER_SECONDS": "3",
}
RESOLVE_TOP_UPS = "wallet.top_ups_resolve_unresolved"
BEAT_TASKS = ("earnings.tasks.earnings_clear_due", "earnings.tasks.withdrawals_requeue_stuck", RESOLVE_TOP_UPS)
FINAL_TOP_UP = ("succeeded", "failed")


def cents(amount: str | None) -> int:
    return int((Decimal(amount) * 100).to_integral_exact()) if amount is not None else 0


def major(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


@dataclass
class Actor:
    id: int
    role: str
    token: str
    method_id: int | None = None  # student's card or tutor's payout method


@dataclass
class Config:
    students: int = 8
    tutors: int = 3
    threads: int = 8
    duration: float = 30.0
    seed: int = 9
    hourly_rate: int = 6000


@dataclass
class Pools:
    """What clients know about, shared between threads (like a client app's local state)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    booked: list[dict] = field(default_factory=list)
    completed: list[dict] = field(default_factory=list)
    refunds: list[int] = field(default_factory=list)

    def take(self, name: str, rng: random.Random):
        with self.lock:
            items = getattr(self, name)
            return items.pop(rng.randrange(len(items))) if items else None

    def put(self, name: str, item) -> None:
        with self.lock:
            getattr(self, name).append(item)


class Workload:
    def __init__(self, base_url: str, broker_url: str, config: Config | None = None):
        from celery import Celery

        self.base_url = base_url
        # The live system's broker (not this process's settings): what beat would send to.
        self.broker = Celery("reliability-beat", broker=broker_url, set_as_current=False)
        self.config = config or Config()
        self.history = History()
        self.pools = Pools()
        self.students: list[Actor] = []
        self.tutors: list[Actor] = []
        self.staff: Actor | None = None
        self.samples: list[list[str]] = []
        self.stop_event = threading.Event()
        self._slot = iter(range(10**9))
        self._slot_lock = threading.Lock()

    # --- setup, through the public API (staff through the ORM: there is no public way) --------

    def client(self, actor: Actor | None, *, history=True, retry_budget=45.0) -> ApiClient:
        return ApiClient(
            self.base_url,
            actor.token if actor else None,
            self.history if history else None,
            actor=actor.id if actor else 0,
            retry_budget=retry_budget,
        )

    def setup(self) -> None:
        run = uuid.uuid4().hex[:8]
        anonymous = ApiClient(self.base_url, None, None)
        self._subject_in_catalog()
        for role, count in (("student", self.config.students), ("tutor", self.config.tutors)):
            for index in range(count):
                op = anonymous.call(
                    "register",
                    "POST",
                    "/api/v1/auth/register",
                    {
                        "email": f"{role}{index}-{run}@reliability.test",
                        "password": PASSWORD,
                        "role": role,
                        "display_name": f"{role} {index}",
                    },
                    key=uuid.uuid4().hex,
                )
                assert op.status == 201, (op.status, op.response)
                actor = Actor(op.response["id"], role, op.response["token"])
                (self.students if role == "student" else self.tutors).append(actor)
        for index, student in enumerate(self.students):
            op = self.client(student, history=False).call(
                "card",
                "POST",
                "/api/v1/wallet/payment-methods",
                {"token": CARD_TOKENS[index % len(CARD_TOKENS)], "make_default": True},
                idempotent=True,
            )
            assert op.status == 201, (op.status, op.response)
            student.method_id = op.response["id"]
        for index, tutor in enumerate(self.tutors):
            client = self.client(tutor, history=False)
            op = client.call(
                "profile",
                "PATCH",
                "/api/v1/me",
                {"tutor_profile": {"hourly_rate": major(self.config.hourly_rate), "subjects": [SUBJECT]}},
                key="profile",
            )
            assert op.status == 200, (op.status, op.response)
            # Bookable at any hour, as a tutor makes themselves (bookings outside it are refused).
            op = client.call("availability", "PUT", "/api/v1/me/availability", ALWAYS_AVAILABLE, key="availability")
            assert op.status == 200, (op.status, op.response)
            op = client.call(
                "bank",
                "POST",
                "/api/v1/earnings/payout-methods",
                {"token": BANK_TOKENS[index % len(BANK_TOKENS)], "make_default": True},
                idempotent=True,
            )
            assert op.status == 201, (op.status, op.response)
            tutor.method_id = op.response["id"]
        self.staff = self._staff(run)

    @staticmethod
    def _subject_in_catalog() -> None:
        """Tutors choose subjects from the catalog staff keep (through the ORM, as `_staff`)."""
        from wemaster.accounts.services import subjects_resolve

        subjects_resolve([SUBJECT])

    @staticmethod
    def _staff(run: str) -> Actor:
        from wemaster.accounts.models import User
        from wemaster.accounts.sessions import token_create

        user = User.objects.create_user(
            email=f"staff-{run}@reliability.test", password=PASSWORD, is_staff=True, display_name="staff", role="staff"
        )
        return Actor(user.id, "staff", token_create(user=user, name="reliability workload")[1])

    # --- the operations -------------------------------------------------------------------------

    def _starts_at(self, rng: random.Random) -> str:
        """A unique future slot; one booking in five starts within the late-cancellation window."""
        with self._slot_lock:
            slot = next(self._slot)
        base = datetime.now(UTC).replace(second=0, microsecond=0)
        if rng.random() < 0.2:
            start = base + timedelta(hours=2, minutes=15 * slot)
        else:
            start = base + timedelta(days=3, minutes=15 * slot)
        return start.isoformat().replace("+00:00", "Z")

    def op_top_up(self, rng):
        student = rng.choice(self.students)
        amount = rng.choice([2000, 5000, 10000])
        client = self.client(student)
        op = client.call(
            "top_up",
            "POST",
            "/api/v1/wallet/top-ups",
            {"amount": major(amount), "payment_method": student.method_id},
            idempotent=True,
        )
        if op.status == 202:
            self._follow_up_top_up(client, op, rng)

    def _follow_up_top_up(self, client: ApiClient, op, rng, budget: float = 3.0) -> None:
        """202 `processing` is not an outcome yet: ask again with the same key and body, or poll
        the top-up, until it has one. What is still open when the budget or the run ends, the
        checker asks for once the resolvers have run."""
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline and not self.stop_event.is_set():
            time.sleep(0.1 + 0.2 * rng.random())
            if rng.random() < 0.5:
                again = client.call("top_up", op.method, op.path, op.body, key=op.key)
                if again.status != 202:
                    return
            else:
                poll = client.call("top_up_poll", "GET", f"/api/v1/wallet/top-ups/{op.response['id']}")
                if poll.ok and poll.response["status"] in FINAL_TOP_UP:
                    return

    def op_book(self, rng):
        student, tutor = rng.choice(self.students), rng.choice(self.tutors)
        op = self.client(student).call(
            "book",
            "POST",
            "/api/v1/lessons",
            {
                "tutor": tutor.id,
                "subject": SUBJECT,
                "starts_at": self._starts_at(rng),
                "duration_minutes": rng.choice([30, 60]),
            },
            idempotent=True,
        )
        if op.ok:
            self.pools.put("booked", {"id": op.response["id"], "student": student, "tutor": tutor})

    @staticmethod
    def _let_time_pass(lesson_id: int) -> None:
        """Move a booked lesson a month into the past, as if the run had waited for it to end (a
        run lasts seconds, a lesson at least 15 minutes; completing is allowed only after the end
        and, for the tutor, after the problem-report window). Only its times change: the booking,
        its hold and everything the client saw stay as they were."""
        from django.db import connection
        from django.db.models import F

        from wemaster.lessons.models import Lesson

        month = timedelta(days=30)
        try:
            Lesson.objects.filter(pk=lesson_id).update(starts_at=F("starts_at") - month, ends_at=F("ends_at") - month)
        finally:
            connection.close()

    def op_finish(self, rng):
        """Complete a booked lesson once its time has passed (tutor or student), or cancel one
        before it starts."""
        lesson = self.pools.take("booked", rng)
        if lesson is None:
            return self.op_book(rng)
        if rng.random() < 0.7:
            self._let_time_pass(lesson["id"])
            actor = lesson["tutor"] if rng.random() < 0.7 else lesson["student"]
            op = self.client(actor).call(
                "complete", "POST", f"/api/v1/lessons/{lesson['id']}/complete", {}, idempotent=True
            )
            if op.ok:
                self.pools.put("completed", lesson)
            return None
        self.client(lesson["student"]).call(
            "cancel", "POST", f"/api/v1/lessons/{lesson['id']}/cancel", {}, idempotent=True
        )
        return None

    def op_refund_request(self, rng):
        lesson = self.pools.take("completed", rng)
        if lesson is None:
            return self.op_finish(rng)
        op = self.client(lesson["student"]).call(
            "refund_request",
            "POST",
            "/api/v1/wallet/refund-requests",
            {"lesson": lesson["id"], "reason": "The tutor did not show up."},
            idempotent=True,
        )
        if op.ok:
            self.pools.put("refunds", op.response["id"])

    def op_refund_decide(self, rng):
        refund_id = self.pools.take("refunds", rng)
        if refund_id is None:
            return self.op_refund_request(rng)
        decision = "approve" if rng.random() < 0.7 else "reject"
        self.client(self.staff).call(
            f"refund_{decision}", "POST", f"/api/v1/wallet/refund-requests/{refund_id}/{decision}", {}, idempotent=True
        )

    def op_withdraw(self, rng):
        tutor = rng.choice(self.tutors)
        amount = rng.choice([1000, 1500, 2500])
        self.client(tutor).call(
            "withdraw",
            "POST",
            "/api/v1/earnings/withdrawals",
            {"amount": major(amount), "payout_method": tutor.method_id},
            idempotent=True,
        )

    def op_read(self, rng):
        if rng.random() < 0.5:
            student = rng.choice(self.students)
            path = rng.choice(["/api/v1/wallet", "/api/v1/wallet/transactions", "/api/v1/lessons"])
            self.client(student).call("read", "GET", path)
        else:
            tutor = rng.choice(self.tutors)
            path = rng.choice(["/api/v1/earnings/overview", "/api/v1/earnings/withdrawals", "/api/v1/lessons"])
            self.client(tutor).call("read", "GET", path)

    MIX = (
        ("op_top_up", 14),
        ("op_book", 22),
        ("op_finish", 22),
        ("op_refund_request", 6),
        ("op_refund_decide", 6),
        ("op_withdraw", 10),
        ("op_read", 20),
    )

    # --- running --------------------------------------------------------------------------------

    def _client_thread(self, index: int) -> None:
        rng = random.Random(self.config.seed * 1000 + index)
        names, weights = zip(*self.MIX, strict=True)
        while not self.stop_event.is_set():
            getattr(self, rng.choices(names, weights)[0])(rng)

    def _beat_thread(self, interval: float = 2.0) -> None:
        """What celery beat does in production, faster: clear earnings, requeue stuck payouts,
        resolve top-ups whose provider answer was lost."""
        while not self.stop_event.wait(interval):
            for task in BEAT_TASKS:
                try:
                    self.broker.send_task(task)
                except Exception:  # noqa: BLE001 - the broker may be the fault under test; beat retries next tick
                    continue

    def _sampler_thread(self, interval: float = 1.0) -> None:
        from reliability.checker import sampled_invariants

        try:
            while not self.stop_event.wait(interval):
                try:
                    self.samples.append(sampled_invariants())
                except Exception:  # noqa: BLE001 - the database may be the fault under test; sample again
                    close_old_connections()
                    connection.close()
        finally:
            connection.close()

    def run(self, *, during=None) -> float:
        """Run the clients for `config.duration` seconds; `during(workload)` runs in this thread
        (the fault schedule). Returns the wall time."""
        started = time.monotonic()
        threads = [
            threading.Thread(target=self._client_thread, args=(i,), daemon=True) for i in range(self.config.threads)
        ]
        threads += [
            threading.Thread(target=self._beat_thread, daemon=True),
            threading.Thread(target=self._sampler_thread, daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            if during is not None:
                during(self)
            remaining = self.config.duration - (time.monotonic() - started)
            if remaining > 0:
                self.stop_event.wait(remaining)
        finally:
            self.stop_event.set()
            for thread in threads:
                thread.join(timeout=120)
        return time.monotonic() - started

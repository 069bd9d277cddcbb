"""Judges a workload's history against the database, the way a bank auditor would.

Checks (docs/RELIABILITY.md):
  sampled      during the run: no negative wallet or available balance, held within balance
  determinate  every operation ends with a final answer (indeterminate ones are replayed with
               their own Idempotency-Key once the system is healthy: the stored answer decides)
  maps_once    every 2xx money response maps to exactly one ledger effect by reference (a
               top-up answered 201 or 202: one credit if it ended succeeded, none if failed)
  no_orphans   every client-caused transfer or hold maps to a 2xx answer (declined top-ups are
               recorded failures and moved nothing)
  client_view  every top-up answered 201 or 202 ends succeeded or failed, as the client sees it
               (its answers, its polls, a GET once the resolvers ran: never two outcomes), and
               each student's balance and held amount equal what those outcomes and the other
               2xx answers add up to
  payouts      every withdrawal ends paid (exactly one successful provider payout, one payout
               transfer) or failed (no successful payout, the money returned)
  provider     `manage.py gateway_report --json`, run in the live system's environment, against
               the ledger: every succeeded charge is exactly one credited top-up of the same
               amount and vice versa, every payout one paid withdrawal and vice versa; top-ups
               whose web worker was killed after the charge ended credited, once
  reconcile    `find_discrepancies()` (every balance equals the sum of its entries, transfers
               sum to zero, no negative wallet, the provider's record against ours, app
               invariants) is empty
"""

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import F, Q

from reliability.client import ApiClient, Operation
from reliability.workload import FINAL_TOP_UP, RESOLVE_TOP_UPS, Workload, cents


@dataclass
class Verdict:
    problems: dict[str, list[str]] = field(default_factory=dict)
    figures: dict[str, int] = field(default_factory=dict)

    def add(self, check: str, problems: list[str]) -> None:
        self.problems[check] = problems

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())

    def summary(self) -> str:
        lines = [f"{name}: {len(found)} problem(s)" for name, found in self.problems.items()]
        for name, found in self.problems.items():
            lines += [f"  {name}: {problem}" for problem in found[:10]]
        return "\n".join(lines)


def sampled_invariants() -> list[str]:
    """The cheap invariants, read while the workload runs."""
    from wemaster.ledger.models import MAY_GO_NEGATIVE, Account

    bad = Account.objects.filter(
        (Q(balance__lt=0) & ~Q(kind__in=MAY_GO_NEGATIVE)) | Q(held__lt=0) | (Q(held__gt=0) & Q(held__gt=F("balance")))
    ).values_list("id", "kind", "balance", "held")
    return [f"account {i} ({kind}) balance {balance} held {held}" for i, kind, balance, held in bad]


def resolve_indeterminate(workload: Workload) -> int:
    """Replay each operation that ended without a final answer, with its own key."""
    unresolved = [op for op in workload.history.snapshot() if op.indeterminate and op.method != "GET"]
    for op in unresolved:
        ApiClient(workload.base_url, _token(workload, op), None, retry_budget=60).replay(op)
    return len(unresolved)


def _token(workload: Workload, op: Operation) -> str:
    return _actor_token(workload, op.actor)


def _actor_token(workload: Workload, actor_id: int) -> str:
    for actor in [*workload.students, *workload.tutors, workload.staff]:
        if actor.id == actor_id:
            return actor.token
    raise LookupError(actor_id)


def wait_for_resolution(broker, timeout: float = 90.0) -> tuple[list[int], list[int]]:
    """Wait until no withdrawal is in flight and no top-up pending or processing, sending the
    payout requeue and the top-up resolver tasks as beat would (the beat thread has stopped).
    Returns the ids (withdrawals in flight, top-ups unresolved) left at the deadline."""
    from earnings.models import IN_FLIGHT, Withdrawal
    from wallet.models import UNRESOLVED, TopUp

    deadline = time.monotonic() + timeout
    last_sent = 0.0
    while True:
        in_flight = list(Withdrawal.objects.filter(status__in=IN_FLIGHT).values_list("id", flat=True))
        unresolved = list(TopUp.objects.filter(status__in=UNRESOLVED).values_list("id", flat=True))
        if not (in_flight or unresolved) or time.monotonic() > deadline:
            return in_flight, unresolved
        if time.monotonic() - last_sent > 2:
            if in_flight:
                broker.send_task("earnings.tasks.withdrawals_requeue_stuck")
            if unresolved:
                broker.send_task(RESOLVE_TOP_UPS)
            last_sent = time.monotonic()
        time.sleep(0.25)


def top_up_outcomes(workload: Workload, operations: list[Operation]) -> tuple[dict[int, dict], list[str], int]:
    """Every top-up the client was answered 201 or 202 for, with the outcome the client sees: a
    final answer or poll during the run, else a GET as the student now (the resolvers have run).
    Returns ({id: {actor, amount, status}}, outcomes that are not one final status, how many
    were still open at the end of the run)."""
    seen: dict[int, dict] = {}
    views = defaultdict(set)
    for op in operations:
        if op.name in ("top_up", "top_up_poll") and op.ok:
            answer = op.response
            seen.setdefault(answer["id"], {"actor": op.actor, "amount": cents(answer["amount"])})
            if answer["status"] in FINAL_TOP_UP:
                views[answer["id"]].add(answer["status"])
    left_open = [top_up_id for top_up_id in seen if not views[top_up_id]]
    for top_up_id in left_open:
        client = ApiClient(workload.base_url, _actor_token(workload, seen[top_up_id]["actor"]), None)
        poll = client.call("top_up_poll", "GET", f"/api/v1/wallet/top-ups/{top_up_id}")
        views[top_up_id].add(poll.response["status"] if poll.ok else f"HTTP {poll.status}")
    problems = []
    for top_up_id, top_up in seen.items():
        outcomes = views[top_up_id]
        top_up["status"] = next(iter(outcomes)) if len(outcomes) == 1 else "?"
        if top_up["status"] not in FINAL_TOP_UP:
            problems.append(f"top-up {top_up_id} ends {sorted(outcomes)} for the client")
    return seen, problems, len(left_open)


def succeeded_at_provider(report: list[dict], kind: str) -> dict[str, int]:
    """{our key: cents} of the provider's succeeded charges or payouts in a `gateway_report --json`."""
    return {row["key"]: cents(row["amount"]) for row in report if row["kind"] == kind and row["status"] == "succeeded"}


def provider_matches_ledger(report: list[dict], killed_after_charge: list[int]) -> list[str]:
    """The provider's record (`gateway_report --json`) against the ledger, key by key and to the cent."""
    from earnings.models import Withdrawal, WithdrawalStatus
    from wallet.models import TopUp, TopUpStatus
    from wemaster.ledger.models import AccountKind, Entry, TransferKind

    ours = {
        "charge": dict(TopUp.objects.filter(status=TopUpStatus.SUCCEEDED).values_list("provider_key", "amount")),
        "payout": dict(Withdrawal.objects.filter(status=WithdrawalStatus.PAID).values_list("provider_key", "amount")),
    }
    problems = []
    for kind, what in (("charge", "credited top-up"), ("payout", "paid withdrawal")):
        theirs = succeeded_at_provider(report, kind)
        for key in sorted(set(theirs) | set(ours[kind])):
            if theirs.get(key) != ours[kind].get(key):
                problems.append(f"{kind} {key}: the provider's {theirs.get(key)}, our {what} {ours[kind].get(key)}")
    credited = Entry.objects.filter(transfer__kind=TransferKind.TOP_UP, account__kind=AccountKind.STUDENT_WALLET)
    credited_total = sum(credited.values_list("amount", flat=True))
    charged_total = sum(succeeded_at_provider(report, "charge").values())
    if credited_total != charged_total:
        problems.append(f"wallets credited {credited_total} by top-ups, cards charged {charged_total}")
    killed = TopUp.objects.filter(id__in=killed_after_charge).exclude(status=TopUpStatus.SUCCEEDED)
    problems += [
        f"top-up {i} charged, its worker killed, ended {status}" for i, status in killed.values_list("id", "status")
    ]
    return problems


def check(workload: Workload, *, gateway_report=None, killed_after_charge=()) -> Verdict:
    """`gateway_report()` returns the provider's record as `manage.py gateway_report --json` prints
    it, run in the live system's environment; `killed_after_charge` are the top-ups whose web
    worker was killed between the provider's charge and our settlement."""
    from earnings.models import Withdrawal, WithdrawalStatus
    from wallet.models import TopUp
    from wemaster.core.payments import Kind, get_gateway
    from wemaster.ledger.models import Account, AccountKind, HoldStatus, Transfer, TransferKind
    from wemaster.ledger.reconcile import find_discrepancies
    from wemaster.lessons.models import Lesson, RefundRequest

    verdict = Verdict()
    verdict.add("sampled", sorted({p for sample in workload.samples for p in sample}))
    verdict.figures["samples"] = len(workload.samples)
    verdict.figures["replayed"] = resolve_indeterminate(workload)
    operations = workload.history.snapshot()
    verdict.add(
        "determinate",
        [
            f"{op.name} {op.path} still {op.status} {op.code}"
            for op in operations
            if op.indeterminate and op.method != "GET"
        ],
    )
    verdict.figures["operations"] = len(operations)
    verdict.figures["attempts"] = sum(len(op.attempts) for op in operations)
    verdict.figures["operations_2xx"] = sum(op.ok for op in operations)
    in_flight, unresolved = wait_for_resolution(workload.broker)
    verdict.figures["in_flight_withdrawals"], verdict.figures["unresolved_top_ups"] = len(in_flight), len(unresolved)
    top_ups, top_up_views, verdict.figures["top_ups_left_open_to_resolvers"] = top_up_outcomes(workload, operations)
    verdict.figures["top_up_answers_202"] = sum(op.name == "top_up" and op.status == 202 for op in operations)
    refusals = Counter(f"{op.name} {op.status} {op.code}" for op in operations if not op.ok and op.method != "GET")
    verdict.figures.update({f"refused {key}": n for key, n in refusals.items()})

    ok = defaultdict(list)
    for op in operations:
        if op.ok:
            ok[op.name].append(op)
    lessons = {lesson.id: lesson for lesson in Lesson.objects.all()}
    transfers = Counter(Transfer.objects.values_list("kind", "reference"))
    problems = []

    def expect_once(kind, reference, what):
        if transfers[(kind, reference)] != 1:
            problems.append(f"{what}: {transfers[(kind, reference)]} {kind} transfer(s) {reference}")

    for top_up_id, top_up in top_ups.items():
        credits = transfers[(TransferKind.TOP_UP, f"top_up:{top_up_id}")]
        if credits != (top_up["status"] == "succeeded"):
            problems.append(f"top-up {top_up_id} ended {top_up['status']} for the client, credited {credits} time(s)")
    booked = {op.response["id"] for op in ok["book"]}
    holds = Counter(Lesson.objects.filter(id__in=booked).values_list("hold_id", flat=True))
    problems += [f"hold {hold} shared by {n} lessons" for hold, n in holds.items() if n != 1]
    problems += [f"booked lesson {i} missing" for i in booked - set(lessons)]
    completed = {op.response["id"] for op in ok["complete"]}
    for lesson_id in completed:
        expect_once(TransferKind.LESSON_CHARGE, lessons[lesson_id].charge_reference, f"completed lesson {lesson_id}")
    cancelled = {op.response["id"]: op for op in ok["cancel"]}
    for lesson_id, op in cancelled.items():
        if cents(op.response.get("cancellation_fee")):
            expect_once(
                TransferKind.LESSON_CANCELLATION_FEE,
                lessons[lesson_id].charge_reference,
                f"late-cancelled lesson {lesson_id}",
            )
    approved = {op.response["id"] for op in ok["refund_approve"]}
    refund_lessons = dict(RefundRequest.objects.values_list("id", "lesson_id"))
    for refund_id in approved:
        lesson = lessons[refund_lessons[refund_id]]
        expect_once(TransferKind.REFUND, lesson.charge_reference, f"approved refund {refund_id}")
    withdrawals = {w.id: w for w in Withdrawal.objects.all()}
    requested = {op.response["id"] for op in ok["withdraw"]}
    for withdrawal_id in requested:
        expect_once(TransferKind.WITHDRAWAL, withdrawals[withdrawal_id].gateway_key, f"withdrawal {withdrawal_id}")
    verdict.add("maps_once", problems)

    charge_refs = {lesson.charge_reference: lesson.id for lesson in lessons.values()}
    approved_lessons = {refund_lessons[r] for r in approved}
    fee_lessons = {i for i, op in cancelled.items() if cents(op.response.get("cancellation_fee"))}
    keys = {w.gateway_key: w.id for w in withdrawals.values()}
    caused_by = {
        TransferKind.TOP_UP: lambda ref: int(ref.split(":")[1]) in top_ups,
        TransferKind.LESSON_CHARGE: lambda ref: charge_refs.get(ref) in completed,
        TransferKind.LESSON_CANCELLATION_FEE: lambda ref: charge_refs.get(ref) in fee_lessons,
        TransferKind.REFUND: lambda ref: charge_refs.get(ref) in approved_lessons,
        TransferKind.WITHDRAWAL: lambda ref: keys.get(ref) in requested,
    }
    orphans = [
        f"{kind} {ref} has no 2xx answer" for (kind, ref) in transfers if kind in caused_by and not caused_by[kind](ref)
    ]
    orphans += [f"hold of lesson {i} has no 2xx booking" for i in set(lessons) - booked]
    declined = set(TopUp.objects.filter(status="failed").values_list("id", flat=True))
    orphans += [f"failed top-up {i} moved money" for i in declined if transfers[(TransferKind.TOP_UP, f"top_up:{i}")]]
    verdict.add("no_orphans", orphans)

    prices = {i: lesson.price for i, lesson in lessons.items()}
    balance, held = Counter(), Counter()
    for top_up in top_ups.values():
        if top_up["status"] == "succeeded":
            balance[top_up["actor"]] += top_up["amount"]
    for op in ok["book"]:
        held[op.actor] += cents(op.response["price"])
    for lesson_id in completed | set(cancelled):
        held[lessons[lesson_id].student_id] -= prices[lesson_id]
    for lesson_id in completed:
        balance[lessons[lesson_id].student_id] -= prices[lesson_id]
    for lesson_id, op in cancelled.items():
        balance[lessons[lesson_id].student_id] -= cents(op.response.get("cancellation_fee"))
    for refund_id in approved:
        lesson = lessons[refund_lessons[refund_id]]
        balance[lesson.student_id] += lesson.price
    wallets = Account.objects.filter(kind=AccountKind.STUDENT_WALLET, owner_id__in=[s.id for s in workload.students])
    view = top_up_views
    for owner_id, actual_balance, actual_held in wallets.values_list("owner_id", "balance", "held"):
        if (actual_balance, actual_held) != (balance[owner_id], held[owner_id]):
            view.append(
                f"student {owner_id}: ledger {actual_balance}/{actual_held} held, "
                f"answers add up to {balance[owner_id]}/{held[owner_id]}"
            )
    finished = Lesson.objects.filter(id__in=completed | set(cancelled), hold__status=HoldStatus.PENDING)
    view += [f"hold of finished lesson {i} is still pending" for i in finished.values_list("id", flat=True)]
    verdict.add("client_view", view)

    # The provider's record is keyed by the round's provider key; the ledger by its gateway key.
    payouts = Counter(record.key for record in get_gateway().records(kind=Kind.PAYOUT) if record.succeeded)
    payout_problems = []
    for withdrawal in withdrawals.values():
        key, reference = withdrawal.provider_key, withdrawal.gateway_key
        if withdrawal.status == WithdrawalStatus.PAID:
            if payouts[key] != 1 or transfers[(TransferKind.PAYOUT, reference)] != 1:
                payout_problems.append(
                    f"paid withdrawal {withdrawal.id}: {payouts[key]} payouts, "
                    f"{transfers[(TransferKind.PAYOUT, reference)]} payout transfers"
                )
        elif withdrawal.status == WithdrawalStatus.FAILED:
            if payouts[key] or transfers[(TransferKind.PAYOUT_REVERSAL, reference)] != 1:
                payout_problems.append(
                    f"failed withdrawal {withdrawal.id}: {payouts[key]} payouts, "
                    f"{transfers[(TransferKind.PAYOUT_REVERSAL, reference)]} reversals"
                )
        else:
            payout_problems.append(f"withdrawal {withdrawal.id} ended {withdrawal.status}")
    verdict.add("payouts", payout_problems)
    report = gateway_report() if gateway_report is not None else []
    if gateway_report is not None:
        verdict.add("provider", provider_matches_ledger(report, list(killed_after_charge)))
    verdict.add("reconcile", find_discrepancies())
    verdict.figures["provider_charges_succeeded"] = len(succeeded_at_provider(report, "charge"))
    verdict.figures["provider_charges_failed"] = sum(r["kind"] == "charge" and r["status"] == "failed" for r in report)
    verdict.figures["provider_payouts"] = len(succeeded_at_provider(report, "payout"))
    verdict.figures["top_ups_killed_after_charge"] = len(killed_after_charge)
    verdict.figures.update({f"2xx_{name}": len(ops) for name, ops in ok.items()})
    verdict.figures["withdrawals_paid"] = sum(w.status == WithdrawalStatus.PAID for w in withdrawals.values())
    verdict.figures["withdrawals_failed"] = sum(w.status == WithdrawalStatus.FAILED for w in withdrawals.values())
    return verdict

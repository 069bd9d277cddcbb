from prometheus_client import Counter

ledger_transfers = Counter("wemaster_ledger_transfers_total", "Ledger transfers posted", ["kind"])
ledger_holds = Counter("wemaster_ledger_holds_total", "Ledger hold transitions", ["transition"])
lock_conflict_retries = Counter(
    "wemaster_ledger_lock_conflict_retries_total",
    "Service transactions re-run after PostgreSQL aborted them for a lock conflict",
    ["operation", "reason"],
)
lock_conflicts_given_up = Counter(
    "wemaster_ledger_lock_conflicts_given_up_total",
    "Service transactions still in a lock conflict after LOCK_CONFLICT_RETRY_ATTEMPTS (answered 409)",
    ["operation", "reason"],
)

from prometheus_client import Counter

ledger_transfers = Counter("wemaster_ledger_transfers_total", "Ledger transfers posted", ["kind"])
ledger_holds = Counter("wemaster_ledger_holds_total", "Ledger hold transitions", ["transition"])

"""The bank workload against a live system, ~30 s, one fault of each kind (issue #9, parts 3-4),
with a payment provider that is slow and loses one answer in ten after charging, and a web
worker killed between a charge and its settlement (issue #13). `make soak` runs the 10-minute
version."""

import pytest

from reliability.bank import FAULTS, run_bank
from reliability.workload import Config
from tests.reliability.conftest import live_database_url, routes_exist

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        not routes_exist("wallet-top-ups", "lesson-list", "earnings-withdrawals"),
        reason="needs the wallet, lessons and earnings routes",
    ),
]


def test_bank_workload_under_faults_loses_and_duplicates_nothing(bank_system):
    _, admin_url, database = live_database_url()
    result = run_bank(
        bank_system,
        admin_url=admin_url,
        database=database,
        config=Config(threads=6, duration=30),
        fault_names=FAULTS,
    )
    print(result.summary())
    assert result.verdict.ok, result.summary()
    assert {window.name for window in result.windows} == set(FAULTS)
    figures = result.verdict.figures
    assert figures["2xx_top_up"] and figures["2xx_complete"] and figures["2xx_withdraw"]
    assert figures["withdrawals_paid"] and figures["withdrawals_failed"]
    assert figures["top_up_answers_202"], "no top-up met a lost provider answer"
    assert figures["top_ups_killed_after_charge"] == 1, "no web worker was caught between a charge and its settlement"
    assert figures["provider_charges_succeeded"] and figures["provider_payouts"]

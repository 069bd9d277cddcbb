import random

import pytest

from earnings.services import commission_percent_for_minutes, commission_split, next_tier_for_minutes


def test_commission_and_net_always_add_up_to_the_charge():
    rng = random.Random(20261125)
    for _ in range(20_000):
        gross = rng.choice([rng.randint(1, 99), rng.randint(1, 10**6), rng.randint(1, 10**11)])
        percent = rng.randint(0, 100)
        commission, net = commission_split(gross=gross, percent=percent)
        assert commission + net == gross
        assert 0 <= commission <= gross and net >= 0
        assert abs(commission * 100 - gross * percent) <= 50  # within half a cent of the exact rate


@pytest.mark.parametrize(
    ("gross", "percent", "commission"),
    [(100, 25, 25), (1, 25, 0), (2, 25, 1), (333, 15, 50), (10, 15, 2), (4000, 20, 800)],
)
def test_commission_rounds_half_up(gross, percent, commission):
    assert commission_split(gross=gross, percent=percent) == (commission, gross - commission)


def test_tiers_by_lifetime_hours(settings):
    settings.EARNINGS_COMMISSION_TIERS = [(0, 25), (20, 20), (100, 15)]
    assert commission_percent_for_minutes(0) == 25
    assert commission_percent_for_minutes(20 * 60 - 1) == 25
    assert commission_percent_for_minutes(20 * 60) == 20
    assert commission_percent_for_minutes(100 * 60) == 15
    assert next_tier_for_minutes(19 * 60) == {"percent": 20, "hours_to_go": 1}
    assert next_tier_for_minutes(100 * 60) is None

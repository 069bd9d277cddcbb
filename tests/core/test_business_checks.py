"""The system checks refuse invalid business settings at start with the setting's name; the
defaults pass them."""

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from wemaster.core.checks import business_limits, business_windows, commission_tiers


def ids(errors) -> list[str]:
    return [error.id for error in errors]


def test_the_configured_settings_pass():
    assert commission_tiers(None) == business_limits(None) == business_windows(None) == []


@pytest.mark.parametrize(
    "tiers,expected",
    [
        ([], ["wemaster.E001"]),
        ([(0, "25")], ["wemaster.E001"]),
        ([(0, 25, 1)], ["wemaster.E001"]),
        ([(0, 25), (20, 20), (20, 15)], ["wemaster.E002"]),
        ([(0, 25), (100, 15), (20, 20)], ["wemaster.E003"]),
        ([(5, 25), (20, 20)], ["wemaster.E003"]),
        ([(0, 125), (20, -1)], ["wemaster.E004"]),
        ([(0, 25), (0, 101)], ["wemaster.E002", "wemaster.E004"]),
    ],
)
def test_invalid_commission_tiers_are_refused(settings, tiers, expected):
    settings.EARNINGS_COMMISSION_TIERS = tiers
    errors = commission_tiers(None)
    assert ids(errors) == expected
    assert all("EARNINGS_COMMISSION_TIERS" in error.msg and error.hint for error in errors)


@pytest.mark.parametrize("tiers", [[(0, 0)], [(0, 100), (1, 0)], [(0, 25), (20, 20), (100, 15)]])
def test_valid_commission_tiers_pass(settings, tiers):
    settings.EARNINGS_COMMISSION_TIERS = tiers
    assert commission_tiers(None) == []


@pytest.mark.parametrize(
    "overrides,expected,named",
    [
        ({"TUTOR_MAX_SUBJECTS": 0}, ["wemaster.E010"], "TUTOR_MAX_SUBJECTS"),
        ({"MIN_HOURLY_RATE_MINOR": -1}, ["wemaster.E010"], "MIN_HOURLY_RATE_MINOR"),
        ({"MIN_HOURLY_RATE_MINOR": 5_000, "MAX_HOURLY_RATE_MINOR": 4_000}, ["wemaster.E011"], "MAX_HOURLY_RATE_MINOR"),
        ({"LESSONS_MIN_DURATION_MINUTES": 20}, ["wemaster.E012"], "LESSONS_DURATION_STEP_MINUTES"),
        ({"WALLET_TOP_UP_MIN_MINOR": 3_000}, ["wemaster.E013"], "WALLET_AUTO_RELOAD_DEFAULT_AMOUNT_MINOR"),
        ({"LESSONS_LATE_CANCELLATION_TUTOR_SHARE_PERCENT": 150}, ["wemaster.E010"], "SHARE_PERCENT"),
    ],
)
def test_invalid_limits_are_refused_naming_the_setting(settings, overrides, expected, named):
    for name, value in overrides.items():
        setattr(settings, name, value)
    errors = business_limits(None)
    assert ids(errors) == expected
    assert named in errors[0].msg


@pytest.mark.parametrize(
    "overrides,expected",
    [
        ({"LESSONS_PROBLEM_REPORT_WINDOW_HOURS": -1}, ["wemaster.E020"]),
        ({"EARNINGS_CLEARANCE_DAYS": -7}, ["wemaster.E020"]),
        ({"PAYMENTS_RECOVERY_AFTER_SECONDS": 0}, ["wemaster.E021"]),
        ({"PAYMENTS_UNRESOLVED_REPORT_AFTER_SECONDS": 60}, ["wemaster.E022"]),
        ({"EARNINGS_PAYOUT_RETRY_BACKOFF_SECONDS": 4_000}, ["wemaster.E023"]),
    ],
)
def test_negative_or_inconsistent_windows_are_refused(settings, overrides, expected):
    for name, value in overrides.items():
        setattr(settings, name, value)
    assert ids(business_windows(None)) == expected


def test_an_invalid_setting_stops_manage_py_check(settings):
    settings.EARNINGS_COMMISSION_TIERS = [(10, 25)]
    with pytest.raises(SystemCheckError, match="wemaster.E003"):
        call_command("check")
    assert any(error.id == "wemaster.E003" for error in checks.run_checks())

"""Schemathesis against the live system's /api/schema/ with a student's, a tutor's and a staff
user's token, every phase, zero failures (issue #9, part 1).

Two checks are left out until the open work in docs/RELIABILITY.md is done:
positive_data_acceptance (business rules the schema cannot express: weak passwords, unknown
ids, cross-field rules, answer 400 to schema-valid bodies) and negative_data_rejection (DRF's
CharField turns numbers into strings, so `"title": 0` is accepted). Set RELIABILITY_FUZZ_ALL=1
to run them.

CI (`make test`) runs every phase with the student's token and, for the tutor's and staff's, every
phase but `coverage` (the schema's boundary values, two thirds of the run's time and the same
for every role); `make fuzz` (RELIABILITY_FUZZ_FULL=1) runs every phase for every role."""

import os

import pytest
from django.conf import settings

from reliability import fuzz
from tests.accounts.factories import StudentFactory, token_for
from tests.lessons.factories import tutor_teaching

OPEN_CHECKS = ("positive_data_acceptance", "negative_data_rejection")
ALL_PHASES = "examples,coverage,fuzzing,stateful"
CI_PHASES = {"student": ALL_PHASES, "tutor": "examples,fuzzing,stateful", "staff": "examples,fuzzing,stateful"}
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(600)]


def test_schemathesis_finds_nothing(live_system):
    users = {"student": StudentFactory(), "tutor": tutor_teaching(), "staff": StudentFactory(is_staff=True)}
    full = bool(os.environ.get("RELIABILITY_FUZZ_FULL"))
    results = []
    for role, user in users.items():
        results += fuzz.run(
            live_system.url,
            {role: token_for(user)},
            report_dir=settings.BASE_DIR / "var" / "reliability" / "fuzz",
            max_examples=5,
            phases=ALL_PHASES if full else CI_PHASES[role],
            exclude_checks=() if os.environ.get("RELIABILITY_FUZZ_ALL") else OPEN_CHECKS,
        )
    for result in results:
        print(f"{result.role}: {result.cases} cases, {result.failures} failures")
    failed = [result for result in results if not result.ok]
    assert not failed, "\n\n".join(f"--- {r.role} ---\n{r.output[-15000:]}" for r in failed)

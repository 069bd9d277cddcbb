"""Schemathesis against the live system's /api/schema/ with a student's, a tutor's and a staff
user's token: every check, every phase, zero failures (issue #9, part 1)."""

import pytest
from django.conf import settings
from rest_framework.authtoken.models import Token

from reliability import fuzz
from tests.accounts.factories import StudentFactory
from tests.lessons.factories import tutor_teaching

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(300)]


def test_schemathesis_finds_nothing(live_system):
    users = {"student": StudentFactory(), "tutor": tutor_teaching(), "staff": StudentFactory(is_staff=True)}
    tokens = {role: Token.objects.create(user=user).key for role, user in users.items()}
    results = fuzz.run(
        live_system.url,
        tokens,
        report_dir=settings.BASE_DIR / "var" / "reliability" / "fuzz",
        max_examples=8,
    )
    for result in results:
        print(f"{result.role}: {result.cases} cases, {result.failures} failures")
    failed = [result for result in results if not result.ok]
    assert not failed, "\n\n".join(f"--- {r.role} ---\n{r.output[-15000:]}" for r in failed)

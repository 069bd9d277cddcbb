"""The hostile-client workload against the live production topology, short (~1 minute): every
attack at once while a normal client reads. `make soak` runs the long version and its figures
are in docs/RELIABILITY.md ("Hostile clients")."""

import pytest

from reliability.hostile import HOSTILE_ENV, HostileConfig, Limits, run_hostile
from tests.reliability.conftest import _live_system

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(300)]


# The short run sends a few wrong passwords only (each is a full password hash on a busy machine):
# a per-account limit of 3 a minute makes the refusal observable within it, whatever its pace.
LOGIN_ACCOUNT_PER_MINUTE = 3


@pytest.fixture
def hostile_system(transactional_db):
    yield from _live_system({**HOSTILE_ENV, "RATE_LOGIN_ACCOUNT": f"{LOGIN_ACCOUNT_PER_MINUTE}/min"})


def test_attackers_leave_memory_bounded_and_a_normal_client_served(hostile_system):
    config = HostileConfig(
        baseline_seconds=10,
        attack_seconds=20,
        history_messages=300,
        slow_readers=20,
        flood_sockets=60,
        login_threads=3,
        limits=Limits(login_attempts_per_minute=LOGIN_ACCOUNT_PER_MINUTE),
    )
    result = run_hostile(hostile_system, config)
    print(result.summary())
    assert result.ok, result.summary()
    answers = result.figures["answers"]
    # Every attack ran and was answered (a run where an attacker never got through proves nothing).
    attacks = {"huge_tokens", "forged_logins", "search_flood", "cache_keys", "socket_flood", "slow_readers"}
    assert attacks <= set(answers)
    assert answers["forged_logins"].get("429"), "the login limit never engaged"
    assert result.figures["socket_flood"]["opened"] > config.limits.max_sockets_per_user

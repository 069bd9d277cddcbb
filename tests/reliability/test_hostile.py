"""The hostile-client workload against the live production topology, short (~1 minute): every
attack at once while a normal client reads. `make soak` runs the long version and its figures
are in docs/RELIABILITY.md ("Hostile clients")."""

import pytest

from reliability.hostile import HOSTILE_ENV, HostileConfig, run_hostile
from tests.reliability.conftest import _live_system

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(300)]


@pytest.fixture
def hostile_system(transactional_db):
    yield from _live_system(HOSTILE_ENV)


def test_attackers_leave_memory_bounded_and_a_normal_client_served(hostile_system):
    config = HostileConfig(
        baseline_seconds=10, attack_seconds=20, history_messages=300, slow_readers=20, flood_sockets=60
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

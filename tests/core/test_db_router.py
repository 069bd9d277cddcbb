"""Read replicas: reads to a replica, writes to the primary, read-your-writes per request,
an unreachable replica skipped. The replica is an alias mirroring `default` (TEST MIRROR)."""

import copy

import pytest
from django.conf import settings as django_settings
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from tests.accounts.factories import StudentFactory, TutorFactory
from wemaster.accounts.models import User
from wemaster.core.db_router import PrimaryReplicaRouter, primary_after_writes, replica_health

REPLICA = "replica_test"

if django_settings.USING_POSTGRES and REPLICA not in connections.settings:
    # Registered at collection, before the test databases are set up, so Django points it
    # at the test database as a mirror of default.
    replica_settings = copy.deepcopy(connections.settings["default"])
    replica_settings["TEST"] = {**replica_settings["TEST"], "MIRROR": "default"}
    connections.settings[REPLICA] = replica_settings

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, databases=["default", REPLICA])]


@pytest.fixture(autouse=True, scope="module")
def _close_replica_pool():
    """The mirror's own connection pool must not hold the test database open at teardown."""
    yield
    replica = connections[REPLICA]
    replica.close()
    if getattr(replica, "pool", None) is not None:
        replica.close_pool()


@pytest.fixture(autouse=True)
def replica_configured(settings):
    settings.DATABASE_REPLICA_ALIASES = [REPLICA]
    settings.CACHALOT_ENABLED = False
    settings.CACHES_ENABLED = False
    replica_health.forget()
    yield
    replica_health.forget()


def test_reads_go_to_the_replica_and_writes_to_the_primary():
    user = StudentFactory()
    with (
        CaptureQueriesContext(connections[REPLICA]) as replica,
        CaptureQueriesContext(connections["default"]) as primary,
    ):
        assert User.objects.get(pk=user.pk).email == user.email
        User.objects.filter(pk=user.pk).update(display_name="Renamed")
    assert len(replica) == 1 and replica[0]["sql"].startswith("SELECT")
    assert len(primary) == 1 and primary[0]["sql"].startswith("UPDATE")


def test_after_a_write_the_rest_of_the_scope_reads_the_primary():
    user = StudentFactory()
    with primary_after_writes():
        assert PrimaryReplicaRouter().db_for_read(User) == REPLICA
        user.display_name = "Written"
        user.save(update_fields=["display_name"])
        with CaptureQueriesContext(connections[REPLICA]) as replica:
            assert User.objects.get(pk=user.pk).display_name == "Written"
        assert len(replica) == 0
    assert PrimaryReplicaRouter().db_for_read(User) == REPLICA  # next request: replicas again


def test_reads_inside_a_transaction_use_the_primary():
    with transaction.atomic():
        assert PrimaryReplicaRouter().db_for_read(User) == "default"


def test_a_request_that_wrote_reads_its_own_writes_from_the_primary(client_for):
    tutor = TutorFactory()
    client = client_for(tutor)
    with CaptureQueriesContext(connections[REPLICA]) as replica:
        assert client.get("/api/v1/tutors").status_code == 200
    assert len(replica) >= 1  # a read-only request reads the replica
    with (
        CaptureQueriesContext(connections[REPLICA]) as replica,
        CaptureQueriesContext(connections["default"]) as primary,
    ):
        response = client.patch("/api/v1/me", {"display_name": "Fresh"})
    assert response.json()["display_name"] == "Fresh"
    assert all("UPDATE" not in q["sql"] for q in replica)
    last_update = max(i for i, q in enumerate(primary) if q["sql"].startswith("UPDATE"))
    assert any(q["sql"].startswith("SELECT") for q in primary[last_update + 1 :])  # re-read on the primary
    assert all(not q["sql"].startswith("SELECT") for q in replica[1:])  # only the token lookup


def test_an_unreachable_replica_is_skipped(unused_tcp_port):
    replica = connections[REPLICA]
    saved = dict(replica.settings_dict)
    replica.settings_dict.update(HOST="127.0.0.1", PORT=unused_tcp_port)
    try:
        assert PrimaryReplicaRouter().db_for_read(User) == "default"
        user = StudentFactory()
        assert User.objects.get(pk=user.pk) == user  # answered by the primary
    finally:
        replica.settings_dict.clear()
        replica.settings_dict.update(saved)
    replica_health.forget()
    assert PrimaryReplicaRouter().db_for_read(User) == REPLICA


def test_migrations_only_on_the_primary():
    router = PrimaryReplicaRouter()
    assert router.allow_migrate("default", "accounts") is True
    assert router.allow_migrate(REPLICA, "accounts") is False

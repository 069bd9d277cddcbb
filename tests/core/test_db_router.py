"""Read replicas: who may read one and which. The replica here is an alias mirroring `default`
(TEST MIRROR) and its probe results are set by the tests; the real primary/replica pair, with
replay paused, delayed, stopped and frozen, is tests/scale."""

import copy
import time

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from tests.accounts.factories import StudentFactory, TutorFactory
from wemaster.accounts.models import DeviceToken, User
from wemaster.celery import app as celery_app
from wemaster.core import metrics, read_your_writes
from wemaster.core.cache import get_or_compute
from wemaster.core.db_router import (
    PrimaryReplicaRouter,
    reading_primary,
    replica_safe,
    routing_scope,
)
from wemaster.core.replica_monitor import ReplicaState, monitor

REPLICA = "replica_test"
FAR_AHEAD = 2**62  # a replayed position past anything the test database has written

if django_settings.USING_POSTGRES and REPLICA not in connections.settings:
    # Registered at collection, before the test databases are set up, so Django points it
    # at the test database as a mirror of default.
    replica_settings = copy.deepcopy(connections.settings["default"])
    replica_settings["TEST"] = {**replica_settings["TEST"], "MIRROR": "default"}
    connections.settings[REPLICA] = replica_settings

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, databases=["default", REPLICA])]


@celery_app.task(name="tests.core.read_alias_of_a_user_query")
def read_alias_of_a_user_query() -> str:
    return PrimaryReplicaRouter().db_for_read(User)


@pytest.fixture(autouse=True, scope="module")
def _close_replica_pool():
    """The mirror's own connection pool must not hold the test database open at teardown."""
    yield
    replica = connections[REPLICA]
    replica.close()
    if getattr(replica, "pool", None) is not None:
        replica.close_pool()


def probed(*, up=True, lag=0.0, replay_lsn=FAR_AHEAD, age=0.0, alias=REPLICA) -> None:
    """Publish what the background probe would have measured `age` seconds ago."""
    state = ReplicaState(alias=alias, up=up, replay_lsn=replay_lsn, lag=lag, measured_at=time.monotonic() - age)
    monitor.publish(state, started=time.monotonic())


@pytest.fixture(autouse=True)
def replica_configured(settings, monkeypatch):
    settings.DATABASE_REPLICA_ALIASES = [REPLICA]
    settings.CACHALOT_ENABLED = False
    monkeypatch.setattr(monitor, "ensure_running", lambda: None)  # no probe threads: the tests say what it saw
    monitor.stop()
    probed()
    yield
    monitor.stop()


def read_alias(model=User) -> str:
    return PrimaryReplicaRouter().db_for_read(model)


def primary_reads(reason: str) -> float:
    return metrics.primary_reads.labels(reason)._value.get()


def test_reads_outside_a_replica_safe_scope_use_the_primary():
    """Tasks, commands, consumers and the shell open no replica-safe scope."""
    assert read_alias() == "default"
    with routing_scope():
        assert read_alias() == "default"


def test_replica_safe_reads_use_the_replica_and_writes_the_primary():
    user = StudentFactory()
    with (
        replica_safe(),
        CaptureQueriesContext(connections[REPLICA]) as replica,
        CaptureQueriesContext(connections["default"]) as primary,
    ):
        assert User.objects.get(pk=user.pk).email == user.email
        User.objects.filter(pk=user.pk).update(display_name="Renamed")
    assert len(replica) == 1 and replica[0]["sql"].startswith("SELECT")
    assert len(primary) == 1 and primary[0]["sql"].startswith("UPDATE")


def test_after_a_write_the_rest_of_the_scope_reads_the_primary():
    user = StudentFactory()
    before = primary_reads("pinned_write")
    with replica_safe():
        assert read_alias() == REPLICA
        user.display_name = "Written"
        user.save(update_fields=["display_name"])
        with CaptureQueriesContext(connections[REPLICA]) as replica:
            assert User.objects.get(pk=user.pk).display_name == "Written"
        assert len(replica) == 0
    assert primary_reads("pinned_write") == before + 1
    with replica_safe():
        assert read_alias() == REPLICA  # a new scope starts on the replica again


def test_reads_inside_a_transaction_use_the_primary():
    with replica_safe(), transaction.atomic():
        assert read_alias() == "default"


def test_shared_cache_fills_read_the_primary():
    user = StudentFactory()
    before = primary_reads("forced")
    with replica_safe(), CaptureQueriesContext(connections[REPLICA]) as replica:
        name = get_or_compute(
            f"test:name:{user.pk}", lambda: User.objects.get(pk=user.pk).display_name, tags=["test"], family="test"
        )
        with reading_primary():
            assert read_alias() == "default"
        assert read_alias() == REPLICA
    assert name == user.display_name
    assert len(replica) == 0
    assert primary_reads("forced") == before + 2


@pytest.mark.parametrize("model", [Session, DeviceToken, Group])
def test_sessions_tokens_and_permissions_always_read_the_primary(model):
    with replica_safe():
        assert read_alias(model) == "default"


def test_a_lagging_replica_is_skipped(settings):
    settings.DATABASE_REPLICA_MAX_LAG = 1.0
    probed(lag=1.5)
    before = primary_reads("lag")
    with replica_safe():
        assert read_alias() == "default"
    assert primary_reads("lag") == before + 1
    probed(lag=0.4)
    with replica_safe():
        assert read_alias() == REPLICA


@pytest.mark.parametrize(
    "state", [{"up": False, "lag": None}, {"lag": None}, {"age": 60.0}], ids=["down", "lag-unknown", "stale"]
)
def test_a_replica_not_known_to_be_fresh_is_skipped(state):
    probed(**state)
    with replica_safe():
        assert read_alias() == "default"


def test_a_replica_never_probed_is_skipped():
    monitor.stop()
    before = primary_reads("down")
    with replica_safe():
        assert read_alias() == "default"
    assert primary_reads("down") == before + 1


def test_a_scope_keeps_the_replica_it_first_read(settings):
    second = "replica_other"
    settings.DATABASE_REPLICA_ALIASES = [REPLICA, second]
    probed(alias=second)
    with replica_safe():
        first = read_alias()
        assert {read_alias() for _ in range(5)} == {first}


def test_a_user_who_wrote_reads_the_primary_until_a_replica_replayed_it():
    user = StudentFactory()
    with routing_scope(user_id=user.id):  # a websocket frame, say
        User.objects.filter(pk=user.pk).update(display_name="Mine")
    floor = read_your_writes.floor_for(user.id)
    assert floor > 0
    probed(replay_lsn=floor - 1)
    with replica_safe(user_id=user.id):
        assert read_alias() == "default"
    with replica_safe():  # anonymous readers are not held back
        assert read_alias() == REPLICA
    probed(replay_lsn=floor)
    with replica_safe(user_id=user.id):
        assert read_alias() == REPLICA


def test_a_users_floor_only_rises(monkeypatch):
    positions = iter([5_000, 3_000, 9_000])
    monkeypatch.setattr(read_your_writes, "primary_wal_position", lambda: next(positions))
    read_your_writes.record_write(42)
    read_your_writes.record_write(42)  # a slower writer reporting an older position
    assert read_your_writes.floor_for(42) == 5_000
    read_your_writes.record_write(42)
    assert read_your_writes.floor_for(42) == 9_000


def test_a_floor_the_cache_cannot_tell_means_the_primary(monkeypatch):
    monkeypatch.setattr(read_your_writes, "floor_for", lambda user_id: None)
    before = primary_reads("cache_down")
    with replica_safe(user_id=7):
        assert read_alias() == "default"
    assert primary_reads("cache_down") == before + 1
    with replica_safe():
        assert read_alias() == REPLICA


def test_celery_tasks_read_the_primary_even_run_inline_in_an_api_read():
    with replica_safe():
        assert read_alias() == REPLICA
        assert read_alias_of_a_user_query.delay().get() == "default"


def test_api_reads_use_the_replica_and_the_writer_the_primary(client_for):
    tutor = TutorFactory()
    client = client_for(tutor)
    with CaptureQueriesContext(connections[REPLICA]) as replica:
        assert client.get("/api/v1/me").status_code == 200
    assert any(q["sql"].startswith("SELECT") for q in replica)  # the profile, from the replica
    with (
        CaptureQueriesContext(connections[REPLICA]) as replica,
        CaptureQueriesContext(connections["default"]) as primary,
    ):
        response = client.patch("/api/v1/me", {"display_name": "Fresh"})
    assert response.json()["display_name"] == "Fresh"
    assert len(replica) == 0  # a write request reads the primary, validation included
    assert any(q["sql"].startswith("SELECT") for q in primary)
    floor = read_your_writes.floor_for(tutor.id)
    probed(replay_lsn=floor - 1)  # the replica has not replayed the rename yet
    with CaptureQueriesContext(connections[REPLICA]) as replica:
        assert client.get("/api/v1/me").json()["display_name"] == "Fresh"
    assert len(replica) == 0
    probed(replay_lsn=floor)
    with CaptureQueriesContext(connections[REPLICA]) as replica:
        assert client.get("/api/v1/me").json()["display_name"] == "Fresh"
    assert len(replica) >= 1


def test_a_new_account_is_read_from_the_primary_until_replayed(api_client):
    body = {"email": "new@example.com", "password": "a-long-passphrase", "role": "tutor", "display_name": "New"}
    response = api_client.post("/api/v1/auth/register", body)
    assert response.status_code == 201, response.content
    assert read_your_writes.floor_for(response.json()["id"]) > 0


def test_admin_pages_read_the_primary(client):
    staff = StudentFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    with CaptureQueriesContext(connections[REPLICA]) as replica:
        assert client.get("/admin/").status_code == 200
    assert len(replica) == 0


def test_replica_reads_are_neither_cached_nor_served_by_cachalot(settings, django_assert_num_queries):
    settings.CACHALOT_ENABLED = True
    user = StudentFactory()
    with replica_safe():
        for _ in range(2):
            with CaptureQueriesContext(connections[REPLICA]) as replica:
                assert User.objects.get(pk=user.pk).email == user.email
            assert len(replica) == 1
    assert User.objects.get(pk=user.pk).email == user.email  # the primary: cached now
    with replica_safe(), CaptureQueriesContext(connections[REPLICA]) as replica:
        User.objects.get(pk=user.pk)
    assert len(replica) == 1  # ...but never served to a replica read
    with django_assert_num_queries(0):
        User.objects.get(pk=user.pk)


def test_migrations_only_on_the_primary():
    router = PrimaryReplicaRouter()
    assert router.allow_migrate("default", "accounts") is True
    assert router.allow_migrate(REPLICA, "accounts") is False

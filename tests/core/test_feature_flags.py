"""Feature flags (wemaster/flags): stable per-user rollouts, overrides, no query once warm,
invalidation on change, the cache fast path gated per family, and the per-state request count."""

import math

import pytest
from django.contrib.auth.models import AnonymousUser, Group
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from tests.accounts.factories import StaffFactory, StudentFactory
from wemaster.accounts.models import Role, User
from wemaster.core.cache import reset_process_state
from wemaster.core.cache import tags as tag_versions
from wemaster.flags import flag_is_active
from wemaster.flags.buckets import user_bucket
from wemaster.flags.models import Flag
from wemaster.flags.selectors import FLAGS_TAG, flag_table

pytestmark = pytest.mark.django_db

ROLLED_OUT = "cache.messaging_unread"
UNREAD = "/api/v1/conversations/unread"
USERS = 1000


def roll_out(percent: int, capture) -> None:
    """What an operator types, committed (so the table is invalidated as in production)."""
    with capture(execute=True):
        call_command("waffle_flag", ROLLED_OUT, "--percent", str(percent), "--create", stdout=None)


def binomial_bound(n: int, p: float) -> float:
    """Five standard deviations: a correct hash leaves it about once in 1.7 million runs."""
    return 5 * math.sqrt(n * p * (1 - p))


@pytest.fixture
def users():
    User.objects.bulk_create(
        User(email=f"rollout{index}@example.test", display_name=f"R{index}", role=Role.STUDENT)
        for index in range(USERS)
    )
    return list(User.objects.filter(email__startswith="rollout").order_by("pk"))


def users_in(users) -> set[int]:
    return {user.pk for user in users if flag_is_active(ROLLED_OUT, user)}


def test_a_10_50_100_rollout_keeps_every_user_in_once_in(users, django_capture_on_commit_callbacks):
    roll_out(10, django_capture_on_commit_callbacks)
    assert Flag.objects.get(name=ROLLED_OUT).percent == 10
    at_10 = users_in(users)
    assert abs(len(at_10) - USERS * 0.10) <= binomial_bound(USERS, 0.10)
    assert users_in(users) == at_10  # the same users on every check
    assert not flag_is_active(ROLLED_OUT, AnonymousUser()) and not flag_is_active(ROLLED_OUT, None)

    roll_out(50, django_capture_on_commit_callbacks)
    at_50 = users_in(users)
    assert at_10 < at_50
    assert abs(len(at_50) - USERS * 0.50) <= binomial_bound(USERS, 0.50)
    assert not flag_is_active(ROLLED_OUT, AnonymousUser())

    roll_out(100, django_capture_on_commit_callbacks)
    assert users_in(users) == {user.pk for user in users}
    assert flag_is_active(ROLLED_OUT, AnonymousUser())


def test_buckets_differ_from_one_flag_to_the_next():
    first = {user_id for user_id in range(USERS) if user_bucket("cache.subjects", user_id) < 100}
    second = {user_id for user_id in range(USERS) if user_bucket("cache.tutor_directory", user_id) < 100}
    assert first != second


def test_staff_group_and_user_overrides_win_over_the_percentage(django_capture_on_commit_callbacks):
    staff, member, listed, other = StaffFactory(), StudentFactory(), StudentFactory(), StudentFactory()
    group = Group.objects.create(name="beta")
    with django_capture_on_commit_callbacks(execute=True):
        member.groups.add(group)
        flag = Flag.objects.create(name=ROLLED_OUT, percent=0, staff=True)
        flag.groups.add(group)
        flag.users.add(listed)
    assert [flag_is_active(ROLLED_OUT, user) for user in (staff, member, listed, other)] == [True, True, True, False]

    with django_capture_on_commit_callbacks(execute=True):
        member.groups.remove(group)
    assert not flag_is_active(ROLLED_OUT, member)

    with django_capture_on_commit_callbacks(execute=True):
        flag.everyone = False  # "No" for everyone overrides every override
        flag.save()
    assert not any(flag_is_active(ROLLED_OUT, user) for user in (staff, listed))


def test_a_missing_flag_takes_its_registry_default_and_an_unknown_name_is_refused(student):
    assert flag_is_active("cache.messaging_unread", student)  # the cache families default to on
    with pytest.raises(LookupError):
        flag_is_active("cache.no_such_family", student)


def test_a_warm_check_costs_no_query_and_a_change_is_seen_at_the_next_check(
    student, django_assert_num_queries, django_capture_on_commit_callbacks, settings
):
    caches["default"].clear()
    reset_process_state()  # a cold cache: Redis emptied, this process' memory level too
    with CaptureQueriesContext(connection) as cold:
        assert flag_is_active(ROLLED_OUT, student)
    assert len(cold) == 3  # the table: flags, switches, samples (no flag: no overrides to read)
    with django_assert_num_queries(0):
        assert flag_is_active(ROLLED_OUT, student)

    with django_capture_on_commit_callbacks(execute=True):  # this process (admin, a command)
        Flag.objects.create(name=ROLLED_OUT, everyone=False)
    assert not flag_is_active(ROLLED_OUT, student)
    with django_assert_num_queries(0):
        assert not flag_is_active(ROLLED_OUT, student)

    # Another process: it writes the row and bumps the tag in Redis; this one holds the table in
    # its memory level and sees the change once its tag memo expires.
    settings.CACHE_TAG_MEMO_SECONDS = 0
    Flag.objects.filter(name=ROLLED_OUT).update(everyone=True)
    tag_versions.cache().incr(tag_versions.TAG_PREFIX + FLAGS_TAG)
    assert flag_is_active(ROLLED_OUT, student)


def test_flags_switches_and_samples_are_in_the_table(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("waffle_switch", "maintenance_banner", "on", "--create", stdout=None)
        call_command("waffle_sample", "trace_sample", "100", "--create", stdout=None)
    from wemaster.flags import sample_is_active, switch_is_active

    assert switch_is_active("maintenance_banner") and not switch_is_active("absent")
    assert sample_is_active("trace_sample") and not sample_is_active("absent")
    assert "maintenance_banner" in flag_table()["switches"]


def flag_count(state: str) -> float:
    return REGISTRY.get_sample_value("wemaster_flag_requests_total", {"flag": ROLLED_OUT, "state": state}) or 0.0


def unread_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(UNREAD).status_code == 200
    return [query["sql"] for query in captured]


def test_the_gated_fast_path_serves_users_in_from_the_cache_and_users_out_from_the_database(
    users, client_for, django_capture_on_commit_callbacks, settings
):
    roll_out(50, django_capture_on_commit_callbacks)
    inside = next(user for user in users if user_bucket(ROLLED_OUT, user.pk) < 500)
    outside = next(user for user in users if user_bucket(ROLLED_OUT, user.pk) >= 500)
    client_in, client_out = client_for(inside), client_for(outside)
    unread_queries(client_in), unread_queries(client_out)  # first requests: tokens and values cached

    before = {state: flag_count(state) for state in ("on", "off")}
    assert unread_queries(client_in) == []  # served from the cache
    assert any("messaging_message" in sql for sql in unread_queries(client_out))  # computed every time
    assert any("messaging_message" in sql for sql in unread_queries(client_out))
    assert flag_count("on") - before["on"] == 1
    assert flag_count("off") - before["off"] == 2  # one per request

    settings.CACHES_ENABLED = False  # the emergency brake wins over the flag
    assert any("messaging_message" in sql for sql in unread_queries(client_in))
    assert flag_count("on") - before["on"] == 1  # the flag is not even consulted


def test_a_request_counts_each_flag_once_however_often_it_checks_it(student, rf):
    from wemaster.flags.checks import FlagRequestMiddleware

    before = flag_count("on")

    def view(request):
        for _ in range(3):
            assert flag_is_active(ROLLED_OUT, student)
        return None

    FlagRequestMiddleware(view)(rf.get("/"))
    assert flag_count("on") - before == 1


def test_declaring_the_flags_creates_the_missing_ones_as_their_defaults_and_keeps_the_rest(
    student, django_capture_on_commit_callbacks
):
    from wemaster.flags.registry import FLAGS
    from wemaster.flags.services import flags_declare

    Flag.objects.create(name=ROLLED_OUT, percent=0)
    with django_capture_on_commit_callbacks(execute=True):
        created = flags_declare()
    assert set(created) == set(FLAGS) - {ROLLED_OUT}
    assert Flag.objects.get(name=ROLLED_OUT).percent == 0
    assert not flag_is_active(ROLLED_OUT, student)
    assert flag_is_active("cache.tutor_directory", student) and flag_is_active("cache.tutor_directory", None)
    assert flags_declare() == []

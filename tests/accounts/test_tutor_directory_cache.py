"""The directory's first page goes through the cache API: tagged, invalidated on commit by
profile changes, served stale (and marked) when PostgreSQL is unreachable."""

import pytest
from cachalot.api import invalidate as cachalot_invalidate
from django.db import connections

from tests.accounts.factories import TutorFactory
from wemaster.accounts.services import TUTOR_DIRECTORY_TAG, subjects_resolve
from wemaster.core.cache import invalidate_tags

TUTORS = "/api/v1/tutors"


@pytest.mark.django_db
def test_first_page_is_served_from_cache_and_profile_changes_invalidate_it(
    api_client, client_for, django_assert_num_queries, django_capture_on_commit_callbacks
):
    tutor = TutorFactory(display_name="Before")
    assert api_client.get(TUTORS).json()["results"][0]["display_name"] == "Before"
    with django_assert_num_queries(0):
        assert api_client.get(TUTORS).json()["results"][0]["display_name"] == "Before"
    client = client_for(tutor)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.patch("/api/v1/me", {"display_name": "After", "tutor_profile": {"hourly_rate": "55.00"}})
    # the directory tag, the cached token identity of the saved user, and the community pages
    # that show authors' display names
    assert response.status_code == 200 and len(callbacks) == 3
    row = api_client.get(TUTORS).json()["results"][0]
    assert (row["display_name"], row["hourly_rate"]) == ("After", "55.00")


@pytest.mark.django_db
def test_next_link_of_a_cached_first_page_leads_to_the_second(api_client):
    tutors = TutorFactory.create_batch(5)
    api_client.get(TUTORS, {"page_size": 2})
    first = api_client.get(TUTORS, {"page_size": 2}).json()
    assert first["previous"] is None
    second = api_client.get(first["next"]).json()
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert ids == sorted((t.id for t in tutors), reverse=True)[:4]


@pytest.mark.django_db
def test_pages_are_cached_per_subject_and_page_size(api_client, django_assert_num_queries):
    TutorFactory.create_batch(3)
    assert len(api_client.get(TUTORS, {"page_size": 2}).json()["results"]) == 2
    assert len(api_client.get(TUTORS, {"page_size": 3}).json()["results"]) == 3
    subjects_resolve(["chemistry"])  # in the catalog, taught by nobody
    assert api_client.get(TUTORS, {"subject": "Chemistry"}).json()["results"] == []


@pytest.fixture
def database_down(unused_tcp_port):
    """Point the default connection at a closed port (no pool) until the test ends."""
    connection = connections["default"]

    def stop():
        connection.close()
        saved["settings"] = dict(connection.settings_dict)
        options = {k: v for k, v in connection.settings_dict["OPTIONS"].items() if k != "pool"}
        connection.settings_dict.update(HOST="127.0.0.1", PORT=unused_tcp_port, OPTIONS=options)

    saved = {}
    yield stop
    if saved:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved["settings"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_down_public_directory_is_stale_with_header_private_is_503(api_client, client_for, database_down):
    tutor = TutorFactory(display_name="Cached")
    me = client_for(tutor)
    fresh = api_client.get(TUTORS)
    assert fresh.status_code == 200 and "Cache-Status" not in fresh
    invalidate_tags(TUTOR_DIRECTORY_TAG)  # the entry is no longer fresh: a request must recompute
    cachalot_invalidate(cache_alias="default", db_alias="default")  # nothing private may come from cachalot either

    database_down()
    stale = api_client.get(TUTORS)
    assert stale.status_code == 200
    assert stale["Cache-Status"] == "stale-if-error"
    assert stale.json() == fresh.json()

    private = me.get("/api/v1/me")
    assert private.status_code == 503
    assert private.json()["code"] == "service_unavailable"
    assert "Cache-Status" not in private

    never_cached = api_client.get(TUTORS, {"subject": "chemistry"})
    assert never_cached.status_code == 503


@pytest.mark.django_db
def test_profile_changes_reach_sorted_filtered_pages_and_subject_counts_at_once(
    api_client, client_for, django_assert_num_queries, django_capture_on_commit_callbacks
):
    subjects_resolve(["algebra", "physics"])
    cheap = TutorFactory(profile__hourly_rate=2_000, profile__subjects=["algebra"])
    dear = TutorFactory(profile__hourly_rate=6_000, profile__subjects=["algebra"])
    by_price = {"subject": "algebra", "ordering": "price"}

    def listed():
        return [row["id"] for row in api_client.get(TUTORS, by_price).json()["results"]]

    def counts():
        return {row["name"]: row["tutor_count"] for row in api_client.get("/api/v1/subjects").json()["results"]}

    assert (listed(), counts()) == ([cheap.id, dear.id], {"algebra": 2, "physics": 0})
    with django_assert_num_queries(0):  # both served from the cache
        assert (listed(), counts()) == ([cheap.id, dear.id], {"algebra": 2, "physics": 0})

    def patch(user, profile):
        with django_capture_on_commit_callbacks(execute=True):
            assert client_for(user).patch("/api/v1/me", {"tutor_profile": profile}, format="json").status_code == 200

    patch(dear, {"hourly_rate": "10.00", "subjects": ["physics", "algebra"]})
    assert (listed(), counts()) == ([dear.id, cheap.id], {"algebra": 2, "physics": 1})
    patch(cheap, {"subjects": ["physics"]})
    assert (listed(), counts()) == ([dear.id], {"algebra": 1, "physics": 2})


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_profile_change_leaves_the_cached_pages_alone(api_client, client_for, django_assert_num_queries):
    """Real commits here: a change that commits invalidates (checked first), one that fails does not."""
    tutor, other = TutorFactory(), TutorFactory()
    api_client.get(TUTORS)
    assert client_for(other).patch("/api/v1/me", {"tutor_profile": {"headline": "x"}}, format="json").status_code == 200
    with django_assert_num_queries(2):  # the committed change emptied the page: recomputed
        api_client.get(TUTORS)
    api_client.get(TUTORS)
    response = client_for(tutor).patch(
        "/api/v1/me", {"display_name": "Never", "tutor_profile": {"subjects": ["nothing-like-it"]}}, format="json"
    )
    assert response.status_code == 400
    with django_assert_num_queries(0):
        names = {row["id"]: row["display_name"] for row in api_client.get(TUTORS).json()["results"]}
    assert names[tutor.id] == tutor.display_name

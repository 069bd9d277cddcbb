"""Tutor onboarding through `PATCH /me`: one nested `tutor_profile` shape, validated field by field."""

import pytest

from tests.accounts.factories import StaffFactory, StudentFactory, TutorFactory
from wemaster.accounts.models import Subject, TutorProfile
from wemaster.accounts.services import subjects_resolve

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
TUTORS = "/api/v1/tutors"
PROFILE_FIELDS = {
    "hourly_rate",
    "currency",
    "subjects",
    "headline",
    "timezone",
    "languages",
    "rating",
    "review_count",
    "bookable",
}


@pytest.fixture
def catalog():
    return subjects_resolve(["algebra", "physics", "chemistry"])


def listed_ids(api_client) -> list[int]:
    return [row["id"] for row in api_client.get(TUTORS).json()["results"]]


def test_a_tutor_sets_the_whole_profile_and_get_returns_the_same_shape(client_for, catalog):
    tutor = TutorFactory(profile__hourly_rate=0, profile__subjects=[])
    client = client_for(tutor)
    body = {
        "display_name": "Prof. Ada",
        "tutor_profile": {
            "hourly_rate": "40.00",
            "subjects": [" Algebra", "algebra", "PHYSICS"],
            "headline": "Algebra without tears",
            "timezone": "Europe/Berlin",
            "languages": ["EN", "de", "en"],
        },
    }
    response = client.patch(ME, body, format="json")
    assert response.status_code == 200, response.json()
    profile = response.json()["tutor_profile"]
    assert set(profile) == PROFILE_FIELDS
    assert profile == {
        "hourly_rate": "40.00",
        "currency": "USD",
        "subjects": ["algebra", "physics"],
        "headline": "Algebra without tears",
        "timezone": "Europe/Berlin",
        "languages": ["en", "de"],
        "rating": None,
        "review_count": 0,
        "bookable": True,
    }
    assert client.get(ME).json()["tutor_profile"] == profile
    stored = TutorProfile.objects.get(pk=tutor.pk)
    assert (stored.hourly_rate, stored.timezone) == (4_000, "Europe/Berlin")
    assert Subject.objects.count() == 3  # the catalog does not grow from tutors' input


def test_omitted_fields_keep_their_values_and_empty_lists_clear(client_for, catalog):
    tutor = TutorFactory(profile__subjects=["algebra"])
    client = client_for(tutor)
    client.patch(ME, {"tutor_profile": {"languages": ["fr"], "headline": "Hi"}}, format="json")
    response = client.patch(ME, {"tutor_profile": {"timezone": "Asia/Tokyo"}}, format="json")
    profile = response.json()["tutor_profile"]
    assert (profile["hourly_rate"], profile["subjects"], profile["languages"]) == ("40.00", ["algebra"], ["fr"])
    assert (profile["headline"], profile["timezone"]) == ("Hi", "Asia/Tokyo")
    cleared = client.patch(ME, {"tutor_profile": {"languages": [], "headline": ""}}, format="json").json()
    assert (cleared["tutor_profile"]["languages"], cleared["tutor_profile"]["headline"]) == ([], "")


def test_a_new_tutor_is_listed_and_bookable_only_with_a_rate_and_a_subject(
    api_client, client_for, catalog, django_capture_on_commit_callbacks
):
    registered = api_client.post(
        "/api/v1/auth/register",
        {"email": "new@example.test", "password": "Correct-horse-99", "role": "tutor", "display_name": "New"},
        format="json",
    ).json()
    assert TutorProfile.objects.filter(pk=registered["id"]).exists()  # every tutor has a profile
    client = client_for(TutorProfile.objects.get(pk=registered["id"]).user)
    assert client.get(ME).json()["tutor_profile"]["bookable"] is False
    assert registered["id"] not in listed_ids(api_client)  # the first page is cached from here on

    def patch(profile):
        with django_capture_on_commit_callbacks(execute=True):
            return client.patch(ME, {"tutor_profile": profile}, format="json").json()["tutor_profile"]

    patch({"hourly_rate": "40.00"})
    assert registered["id"] not in listed_ids(api_client)  # a rate alone is not enough
    assert patch({"subjects": ["algebra"]})["bookable"] is True
    assert registered["id"] in listed_ids(api_client)  # at once: the cached page was invalidated
    patch({"subjects": []})
    assert registered["id"] not in listed_ids(api_client)


def test_the_flat_form_is_refused_naming_each_field(client_for, catalog):
    tutor = TutorFactory()
    response = client_for(tutor).patch(ME, {"hourly_rate": "55.00", "subjects": ["physics"]}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "unknown_field")
    fields = response.json()["fields"]
    assert set(fields) == {"hourly_rate", "subjects"}
    assert "tutor_profile" in fields["hourly_rate"][0]
    assert TutorProfile.objects.get(pk=tutor.pk).hourly_rate == 4_000


def test_an_unknown_field_inside_the_profile_is_named(client_for, catalog):
    tutor = TutorFactory()
    response = client_for(tutor).patch(ME, {"tutor_profile": {"rate": "55.00"}}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "unknown_field")
    assert response.json()["fields"] == {"tutor_profile": {"rate": ["Unknown field."]}}


@pytest.mark.parametrize("user_factory", [StudentFactory, StaffFactory])
def test_only_tutors_have_a_tutor_profile(client_for, catalog, user_factory):
    user = user_factory()
    response = client_for(user).patch(
        ME, {"display_name": "Changed", "tutor_profile": {"hourly_rate": "10.00"}}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"tutor_profile"}
    user.refresh_from_db()
    assert user.display_name != "Changed" and not TutorProfile.objects.filter(pk=user.pk).exists()
    assert client_for(user).get(ME).json()["tutor_profile"] is None


@pytest.mark.parametrize(
    "profile, field",
    [
        ({"hourly_rate": "-1.00"}, "hourly_rate"),
        ({"hourly_rate": "0.00"}, "hourly_rate"),
        ({"hourly_rate": "0.99"}, "hourly_rate"),
        ({"hourly_rate": "1000.01"}, "hourly_rate"),
        ({"hourly_rate": "40.005"}, "hourly_rate"),
        ({"hourly_rate": "abc"}, "hourly_rate"),
        ({"hourly_rate": 12.5}, "hourly_rate"),
        ({"hourly_rate": "1e3"}, "hourly_rate"),
        ({"subjects": "algebra"}, "subjects"),
        ({"subjects": [f"s{n}" for n in range(21)]}, "subjects"),
        ({"subjects": ["x" * 61]}, "subjects"),
        ({"headline": "x" * 121}, "headline"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "europe/berlin"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"languages": ["xx"]}, "languages"),
        ({"languages": ["english"]}, "languages"),
        ({"languages": ["en"] * 11}, "languages"),
        ({"languages": "en"}, "languages"),
    ],
)
def test_bad_profile_values_are_400_naming_the_field_and_change_nothing(client_for, catalog, profile, field):
    tutor = TutorFactory(profile__subjects=["algebra"])
    before = TutorProfile.objects.values().get(pk=tutor.pk)
    response = client_for(tutor).patch(ME, {"display_name": "Changed", "tutor_profile": profile}, format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["fields"]["tutor_profile"]) == [field]
    assert TutorProfile.objects.values().get(pk=tutor.pk) == before
    tutor.refresh_from_db()
    assert tutor.display_name != "Changed"


def test_unknown_subjects_are_named_and_nothing_is_written(client_for, catalog):
    tutor = TutorFactory(profile__subjects=["algebra"])
    response = client_for(tutor).patch(
        ME,
        {"display_name": "Changed", "tutor_profile": {"hourly_rate": "50.00", "subjects": ["Alchemy", "physics", "x"]}},
        format="json",
    )
    assert response.status_code == 400
    (message,) = response.json()["fields"]["tutor_profile"]["subjects"]
    assert '"alchemy"' in message and '"x"' in message and "physics" not in message
    profile = TutorProfile.objects.get(pk=tutor.pk)
    assert profile.hourly_rate == 4_000 and [s.name for s in profile.subjects.all()] == ["algebra"]
    tutor.refresh_from_db()
    assert tutor.display_name != "Changed"  # one transaction: the valid part is not kept either


def test_patch_me_costs_a_constant_number_of_queries(client_for, catalog, django_assert_max_num_queries, settings):
    settings.CACHALOT_ENABLED = False
    tutor = TutorFactory()
    client = client_for(tutor)
    client.get(ME)  # the token's identity is cached
    body = {"tutor_profile": {"subjects": ["algebra", "physics", "chemistry"], "languages": ["en", "de", "fr"]}}
    with django_assert_max_num_queries(16):
        assert client.patch(ME, body, format="json").status_code == 200
    with django_assert_max_num_queries(3):  # the user with the profile, its subjects, its languages
        assert client.get(ME).status_code == 200

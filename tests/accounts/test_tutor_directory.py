"""The public directory (bookable tutors only, filters, sorts on keyset pages), tutor detail and
the subject list: shapes, bad input, query counts constant in the number of tutors."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.accounts.factories import StudentFactory, TutorFactory
from wemaster.accounts.models import TutorLanguage, TutorProfile
from wemaster.accounts.services import subjects_resolve

pytestmark = pytest.mark.django_db

TUTORS = "/api/v1/tutors"
SUBJECTS = "/api/v1/subjects"


def tutor(*, rate=4000, subjects=("mathematics",), languages=(), rating=None, reviews=0, **user):
    made = TutorFactory(profile__hourly_rate=rate, profile__subjects=list(subjects), **user)
    TutorLanguage.objects.bulk_create(TutorLanguage(profile_id=made.pk, code=code) for code in languages)
    if rating is not None:
        TutorProfile.objects.filter(pk=made.pk).update(rating=Decimal(rating), review_count=reviews)
    return made


def ids(body) -> list[int]:
    return [row["id"] for row in body["results"]]


def walk(api_client, params, page_size=2) -> list[dict]:
    """Every row of every page, following `next`; each `previous` leads back to the page before."""
    pages = [api_client.get(TUTORS, {**params, "page_size": page_size}).json()]
    while pages[-1]["next"]:
        pages.append(api_client.get(pages[-1]["next"]).json())
        back = api_client.get(pages[-1]["previous"]).json()
        assert ids(back) == ids(pages[-2])
    return [row for page in pages for row in page["results"]]


def test_directory_is_public_and_lists_only_bookable_tutors(api_client):
    bookable = [tutor(), tutor()]
    tutor(rate=0)  # no rate yet
    tutor(subjects=())  # no subject yet
    tutor(is_active=False)
    StudentFactory()
    body = api_client.get(TUTORS).json()
    assert ids(body) == sorted((t.id for t in bookable), reverse=True)
    assert set(body) == {"results", "next", "previous"}
    row = body["results"][0]
    assert set(row) == {
        "id",
        "display_name",
        "headline",
        "hourly_rate",
        "currency",
        "subjects",
        "rating",
        "review_count",
    }
    assert (row["hourly_rate"], row["subjects"], row["rating"], row["review_count"]) == (
        "40.00",
        ["mathematics"],
        None,
        0,
    )


def test_filters_by_subject_language_and_rate_range(api_client):
    algebra = tutor(subjects=["Algebra", "physics"], languages=["de", "en"], rate=2_500)
    physics = tutor(subjects=["physics"], languages=["en"], rate=6_000)
    chemistry = tutor(subjects=["chemistry"], languages=["fr"], rate=4_000)
    assert ids(api_client.get(TUTORS, {"subject": " ALGEBRA"}).json()) == [algebra.id]
    assert ids(api_client.get(TUTORS, {"subject": "physics"}).json()) == [physics.id, algebra.id]
    assert ids(api_client.get(TUTORS, {"language": "EN"}).json()) == [physics.id, algebra.id]
    assert ids(api_client.get(TUTORS, {"min_rate": "40.00"}).json()) == [chemistry.id, physics.id]
    assert ids(api_client.get(TUTORS, {"max_rate": "40.00"}).json()) == [chemistry.id, algebra.id]
    assert ids(api_client.get(TUTORS, {"min_rate": "25", "max_rate": "25.00"}).json()) == [algebra.id]
    both = {"subject": "physics", "language": "de", "max_rate": "30.00"}
    assert ids(api_client.get(TUTORS, both).json()) == [algebra.id]
    assert ids(api_client.get(TUTORS, {"subject": "chemistry", "language": "de"}).json()) == []


@pytest.mark.parametrize(
    "ordering, expected",
    [
        ("newest", ["e", "d", "c", "b", "a"]),
        ("price", ["b", "d", "a", "c", "e"]),
        ("-price", ["e", "c", "a", "d", "b"]),
        ("rating", ["d", "c", "b", "e", "a"]),
    ],
)
def test_orderings_walk_keyset_pages_through_ties(api_client, ordering, expected):
    made = {
        "a": tutor(rate=4_000),
        "b": tutor(rate=2_000, rating="4.50", reviews=3),
        "c": tutor(rate=4_000, rating="4.90", reviews=10),
        "d": tutor(rate=2_000, rating="4.90", reviews=1),
        "e": tutor(rate=9_000),
    }
    names = {t.id: name for name, t in made.items()}
    rows = walk(api_client, {"ordering": ordering})
    assert [names[row["id"]] for row in rows] == expected
    # every page beyond the first, and the filtered ones, come from the same keyset pages
    assert [names[row["id"]] for row in walk(api_client, {"ordering": ordering, "min_rate": "1.00"})] == expected


def test_rating_is_shown_once_there_are_reviews(api_client):
    rated = tutor(rating="4.75", reviews=12)
    row = api_client.get(f"{TUTORS}/{rated.id}").json()
    assert (row["rating"], row["review_count"]) == ("4.75", 12)


@pytest.mark.parametrize(
    "params, field",
    [
        ({"subject": "alchemy"}, "subject"),
        ({"subject": "x" * 61}, "subject"),
        ({"language": "xx"}, "language"),
        ({"language": "english"}, "language"),
        ({"min_rate": "abc"}, "min_rate"),
        ({"min_rate": "-1.00"}, "min_rate"),
        ({"max_rate": "1.005"}, "max_rate"),
        ({"max_rate": "99999999"}, "max_rate"),
        ({"min_rate": "50.00", "max_rate": "20.00"}, "max_rate"),
        ({"ordering": "cheapest"}, "ordering"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(api_client, params, field):
    tutor()
    response = api_client.get(TUTORS, params)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "validation_error"
    assert list(response.json()["fields"]) == [field]


@pytest.mark.parametrize("ordering", ["newest", "price", "rating"])
@pytest.mark.parametrize("cursor", ["garbage", "cD1hYmM=", "cD14fDE=", "cD1OYU58MQ=="])
def test_forged_cursors_are_400(api_client, ordering, cursor):
    tutor()
    response = api_client.get(TUTORS, {"ordering": ordering, "cursor": cursor})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")


def test_no_page_uses_offset(api_client):
    for rate in (2_000, 2_000, 2_000, 3_000, 3_000):
        tutor(rate=rate)
    with CaptureQueriesContext(connection) as queries:
        for ordering in ("newest", "price", "-price", "rating"):
            assert len(walk(api_client, {"ordering": ordering}, page_size=1)) == 5
    assert queries.captured_queries and not [q for q in queries if "OFFSET" in q["sql"].upper()]


@pytest.mark.parametrize("count", [10, 60])
def test_directory_pages_cost_the_same_whatever_the_number_of_tutors(
    api_client, django_assert_num_queries, settings, count
):
    settings.CACHALOT_ENABLED = False
    subjects_resolve(["algebra", "physics"])
    for index in range(count):
        tutor(subjects=["algebra", "physics"], languages=["en"], rate=2_000 + index)
    # first page: the subject catalog (to check `subject`), the page, its subjects; then the cached page
    with django_assert_num_queries(3):
        body = api_client.get(TUTORS, {"subject": "algebra", "language": "en", "page_size": count}).json()
    assert len(body["results"]) == count
    with django_assert_num_queries(0):
        api_client.get(TUTORS, {"subject": "algebra", "language": "en", "page_size": count})
    # rate ranges and later pages come from the database: the page and its subjects
    with django_assert_num_queries(2):
        body = api_client.get(TUTORS, {"min_rate": "1.00", "ordering": "price", "page_size": count // 2}).json()
    with django_assert_num_queries(2):
        assert len(api_client.get(body["next"]).json()["results"]) == count // 2


def test_tutor_detail_shows_the_whole_public_profile(api_client, django_assert_num_queries, settings):
    settings.CACHALOT_ENABLED = False
    made = tutor(subjects=["physics", "algebra"], languages=["de", "en"], bio="Ten years of teaching.")
    TutorProfile.objects.filter(pk=made.pk).update(headline="Physics made clear", timezone="Europe/Berlin")
    with django_assert_num_queries(3):  # profile with the user, subjects, languages
        response = api_client.get(f"{TUTORS}/{made.id}")
    assert response.status_code == 200
    assert response.json() == {
        "id": made.id,
        "display_name": made.display_name,
        "headline": "Physics made clear",
        "bio": "Ten years of teaching.",
        "hourly_rate": "40.00",
        "currency": "USD",
        "subjects": ["algebra", "physics"],
        "languages": ["de", "en"],
        "timezone": "Europe/Berlin",
        "rating": None,
        "review_count": 0,
    }


def test_tutor_detail_of_anyone_not_bookable_is_404(api_client):
    others = [tutor(rate=0).id, tutor(subjects=()).id, tutor(is_active=False).id, StudentFactory().id, 999_999]
    for user_id in others:
        response = api_client.get(f"{TUTORS}/{user_id}")
        assert (response.status_code, response.json()["code"]) == (404, "not_found"), user_id


def test_subjects_list_the_catalog_with_bookable_tutor_counts(api_client):
    subjects_resolve(["biology"])
    tutor(subjects=["algebra", "physics"])
    tutor(subjects=["physics"])
    tutor(subjects=["physics"], rate=0)  # not bookable: not counted
    tutor(subjects=["physics"], is_active=False)
    body = api_client.get(SUBJECTS).json()
    assert set(body) == {"results", "next", "previous"}
    assert [(row["name"], row["tutor_count"]) for row in body["results"]] == [
        ("algebra", 1),
        ("biology", 0),
        ("physics", 2),
    ]
    assert set(body["results"][0]) == {"id", "name", "tutor_count"}


def test_subjects_page_alphabetically_by_keyset(api_client):
    names = sorted(f"subject {index:02}" for index in range(7))
    subjects_resolve(names)
    page = api_client.get(SUBJECTS, {"page_size": 3}).json()
    seen = [row["name"] for row in page["results"]]
    while page["next"]:
        page = api_client.get(page["next"]).json()
        seen += [row["name"] for row in page["results"]]
    assert seen == names


@pytest.mark.parametrize("count", [5, 40])
def test_subjects_cost_one_query_whatever_the_number_of_tutors(api_client, django_assert_num_queries, settings, count):
    settings.CACHALOT_ENABLED = False
    for _ in range(count):
        tutor(subjects=["algebra", "physics"])
    with django_assert_num_queries(1):
        body = api_client.get(SUBJECTS).json()
    assert {row["name"]: row["tutor_count"] for row in body["results"]} == {"algebra": count, "physics": count}
    with django_assert_num_queries(0):
        api_client.get(SUBJECTS)

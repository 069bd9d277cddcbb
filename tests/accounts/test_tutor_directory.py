import pytest

from tests.accounts.factories import StudentFactory, TutorFactory
from wemaster.accounts.services import subjects_resolve

pytestmark = pytest.mark.django_db

TUTORS = "/api/v1/tutors"


def test_directory_is_public_and_lists_only_tutors(api_client):
    tutors = TutorFactory.create_batch(3)
    StudentFactory()
    body = api_client.get(TUTORS).json()
    assert [row["id"] for row in body["results"]] == sorted((t.id for t in tutors), reverse=True)
    assert set(body["results"][0]) >= {"id", "display_name", "hourly_rate", "subjects", "rating"}
    assert body["results"][0]["hourly_rate"] == "40.00"


def test_subject_filter(api_client):
    maths, other = TutorFactory(), TutorFactory()
    maths.tutor_profile.subjects.set(subjects_resolve(["Algebra"]))
    other.tutor_profile.subjects.set(subjects_resolve(["chemistry"]))
    body = api_client.get(TUTORS, {"subject": "ALGEBRA "}).json()
    assert [row["id"] for row in body["results"]] == [maths.id]
    assert body["results"][0]["subjects"] == ["algebra"]


@pytest.mark.parametrize("page_size", [10, 100])
def test_query_count_does_not_grow_with_page_size(api_client, django_assert_num_queries, settings, page_size):
    settings.CACHALOT_ENABLED = False
    for tutor in TutorFactory.create_batch(page_size):
        tutor.tutor_profile.subjects.set(subjects_resolve(["algebra", "physics"]))
    # one for the page, one for the prefetched subjects
    with django_assert_num_queries(2):
        body = api_client.get(TUTORS, {"page_size": page_size}).json()
    assert len(body["results"]) == page_size

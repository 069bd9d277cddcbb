import pytest

from community.models import Follow
from tests.accounts.factories import StudentFactory, TutorFactory
from tests.community.factories import PostFactory

pytestmark = pytest.mark.django_db

FEED = "/api/v1/community/feed"
FOLLOWS = "/api/v1/community/follows"


def test_feed_has_exactly_followed_users_and_tags_newest_first_once(client_for, student):
    tutor = TutorFactory()
    client = client_for(student)
    assert client.post(FOLLOWS, {"user": tutor.id}).status_code == 201
    assert client.post(FOLLOWS, {"tag": " Algebra"}).status_code == 201
    by_tutor = PostFactory(author=tutor)
    tagged = PostFactory(tags=["algebra"])
    both = PostFactory(author=tutor, tags=["algebra", "geometry"])
    PostFactory(tags=["chemistry"])  # neither
    PostFactory(author=StudentFactory())  # neither
    body = client.get(FEED).json()
    assert [row["id"] for row in body["results"]] == [both.id, tagged.id, by_tutor.id]


def test_follow_is_idempotent_and_unfollow_removes(client_for, student):
    tutor = TutorFactory()
    client = client_for(student)
    assert client.post(FOLLOWS, {"user": tutor.id}).status_code == 201
    again = client.post(FOLLOWS, {"user": tutor.id})
    assert again.status_code == 200 and again.json()["user"] == tutor.id
    assert Follow.objects.count() == 1
    PostFactory(author=tutor)
    assert client.delete(FOLLOWS, {"user": tutor.id}).status_code == 204
    assert client.delete(f"{FOLLOWS}?tag=unknown").status_code == 204
    assert client.get(FEED).json()["results"] == []


@pytest.mark.parametrize(
    "payload, code",
    [({}, "validation_error"), ({"user": 1, "tag": "x"}, "validation_error"), ({"user": 999999}, "not_found")],
)
def test_follow_bad_input(client_for, student, payload, code):
    response = client_for(student).post(FOLLOWS, payload)
    assert response.status_code in (400, 404) and response.json()["code"] == code


def test_cannot_follow_self(client_for, student):
    response = client_for(student).post(FOLLOWS, {"user": student.id})
    assert response.status_code == 400 and response.json()["code"] == "cannot_follow_self"

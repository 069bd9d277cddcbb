"""A forged, truncated or oversized cursor is a 400 `invalid_cursor` on every cursor-paginated
list, never a 500: the position inside a well-formed cursor is attacker-chosen too."""

from base64 import b64encode

import pytest

from community.models import Tag
from messaging import services as messaging_services
from tests.accounts.factories import StudentFactory, TutorFactory
from tests.community.factories import PostFactory
from tests.messaging.factories import direct_conversation

# Each request in autocommit: one server error must not abort the transaction the next requests use.
pytestmark = pytest.mark.django_db(transaction=True)


def b64(text: str | bytes) -> str:
    return b64encode(text if isinstance(text, bytes) else text.encode()).decode()


# Positions a client could put inside an otherwise well-formed cursor.
FORGED_POSITIONS = [
    "2026-01-01T00:00:00-23:59",
    "2026-01-01T00:00:00-23:59|5",
    "2026-01-01T00:00:00+00:00|-5",
    "0001-01-01T00:00:00+23:59|1",
    "9999-12-31T23:59:59-23:59|1",
    "2026-01-01T00:00:00|1",
    "-23:59",
    "-5",
    "-1|-1",
    "99999999999999999999999999",
    "99999999999999999999999999|99999999999999999999999999",
    "1e309|1",
    "nan|1",
    "-inf|1",
    "9" * 300,  # a cursor within the length limit, a number past any id
    "1|" + "9" * 300,
    "",
    "|",
    "\x00",
]
MALFORMED = [
    "-23:59",
    "not base64!",
    "%%%",
    "YWJj",  # "abc": no position at all
    b64(b"\xff\xfe\xfd"),
    b64("o=-23&p=59"),
    b64("o=99999999999999999999999&p=1"),
    b64("o=1" + "0" * 300 + "&p=1"),
    b64("r=1&p=" + "9" * 600),  # longer than any cursor the server makes
    "A" * 1500,
    "é",
    *(b64(f"p={position}") for position in FORGED_POSITIONS),
    *(b64(f"r=1&p={position}") for position in FORGED_POSITIONS),
    *(b64(f"o=0&p={position}") for position in FORGED_POSITIONS),
]


@pytest.fixture
def world(client_for):
    student, other = StudentFactory(), StudentFactory()
    TutorFactory()
    post = PostFactory(author=student, tags=["rust"])
    conversation = direct_conversation(student, other)
    messaging_services.message_send(conversation_id=conversation.id, sender=student, body="hi")
    assert Tag.objects.filter(name="rust").exists()
    return {"client": client_for(student), "student": student, "post": post, "conversation": conversation}


def cursor_lists(world):
    post = world["post"]
    return [
        "/api/v1/community/posts",
        "/api/v1/community/posts?ordering=top",
        "/api/v1/community/posts?ordering=trending",
        "/api/v1/community/posts?tag=rust",
        f"/api/v1/community/posts/{post.id}/comments",
        "/api/v1/community/feed",
        "/api/v1/community/tags",
        "/api/v1/tutors",
        "/api/v1/tutors?subject=algebra",
        "/api/v1/conversations",
        "/api/v1/wallet/top-ups",
        "/api/v1/wallet/transactions",
        "/api/v1/lessons",
        "/api/v1/wallet/refund-requests",
    ]


def test_every_malformed_cursor_is_a_400_on_every_list(world):
    client = world["client"]
    client.raise_request_exception = False  # a server error is a finding here, not a crash of the test
    failures = []
    for url in cursor_lists(world):
        for cursor in MALFORMED:
            response = client.get(url, {"cursor": cursor})
            body = response.json() if response["Content-Type"].startswith("application/json") else {}
            if response.status_code != 400 or body.get("code") != "invalid_cursor":
                failures.append((url, cursor[:60], response.status_code, body.get("code")))
    assert not failures, "\n".join(map(str, failures))


@pytest.mark.parametrize("param", ["before", "after"])
def test_message_history_ids_that_are_not_ids_are_a_400(world, param):
    """Message history pages by `before`/`after` message ids rather than cursors."""
    client = world["client"]
    client.raise_request_exception = False
    url = f"/api/v1/conversations/{world['conversation'].id}/messages"
    for value in ["-1", "-23:59", "abc", "1e5", "\x00", "A" * 1500]:
        response = client.get(url, {param: value})
        assert response.status_code == 400, value
        assert response.json()["code"] in {"validation_error", "invalid_query"}, value
    # Past every id there is (however long): a valid request, answered without a server error.
    assert client.get(url, {param: "9" * 23}).status_code == 200
    assert client.get(url, {param: "9" * 1000}).status_code == 200


def test_server_made_cursors_still_lead_through_every_list(world):
    """The checks refuse forged cursors only: following `next` and `previous` still works."""
    client = world["client"]
    for _ in range(3):
        PostFactory(tags=["rust"])
    for url in [
        "/api/v1/community/posts",
        "/api/v1/community/posts?ordering=top",
        "/api/v1/community/posts?ordering=trending",
    ]:
        first = client.get(url, {"page_size": 2}).json()
        second = client.get(first["next"]).json()
        back = client.get(second["previous"]).json()
        assert len(second["results"]) == 2 and back["results"] == first["results"], url
    # DRF's cursors: an id ordering (tutors) and a time ordering (conversations)
    TutorFactory.create_batch(2)
    for _ in range(2):
        direct_conversation(world["student"], StudentFactory())
    for url in ["/api/v1/tutors", "/api/v1/conversations"]:
        first = client.get(url, {"page_size": 1}).json()
        second = client.get(first["next"]).json()
        third = client.get(second["next"]).json()
        back = client.get(third["previous"]).json()
        assert len(third["results"]) == 1 and back["results"] == second["results"], url
        assert len({row["id"] for row in first["results"] + second["results"] + third["results"]}) == 3, url

"""Every list endpoint answers the one envelope and the one page-size rule (generated from the
URL resolver and the OpenAPI schema, like the authorization matrix).

A list is a GET route whose view lists (DRF's ListModelMixin) or whose documented 200 answer is
an array or has `results`; a GET that answers a bare array or a `results` key without being
found as a list fails too. Each list needs a row in LIST_DATA saying how to give its caller two
rows, so the envelope and the clamp are checked on real data: a new list cannot ship without
the envelope, or without being checked here.
"""

from functools import cache

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.mixins import ListModelMixin

from community import services as community
from earnings import services as earnings
from earnings.models import Withdrawal, WithdrawalStatus
from messaging import services as messaging
from reliability.routes import api_routes
from tests.accounts.factories import TutorFactory
from tests.lessons.factories import book, completed_lesson, tutor_teaching
from tests.reliability import authz_matrix as matrix
from tests.reliability.authz_matrix import _funded, fund
from tests.reliability.test_authz_matrix import make_user
from wemaster.accounts.services import subjects_resolve
from wemaster.ledger.models import AccountKind
from wemaster.lessons import services as lessons

ENVELOPE = {"results", "next", "previous"}
BAD_PAGE_SIZES = ["0", "-1", "ten", "1.5", "", "٣"]


def _twice(rows_of):
    def make(owner) -> dict:
        rows_of(owner)
        rows_of(owner)
        return {}

    return make


def _tutors(owner) -> dict:
    tutor_teaching()
    tutor_teaching()
    return {}


def _subjects(owner) -> dict:
    subjects_resolve(["algebra", "physics"])
    return {}


def _posts(owner) -> dict:
    for index in range(2):
        community.post_create(author=owner, title=f"Post {index}", body="Body.", tags=[f"tag{index}"])
    return {}


def _comments(owner) -> dict:
    kwargs = matrix._post(owner)
    for index in range(2):
        community.comment_create(post_id=kwargs["post_id"], author=owner, body=f"Comment {index}")
    return kwargs


def _feed(owner) -> dict:
    author = TutorFactory()
    community.follow_create(follower=owner, user_id=author.id)
    return _posts(author)


def _messages(owner) -> dict:
    kwargs = matrix._conversation(owner)
    for index in range(2):
        messaging.message_send(sender=owner, conversation_id=kwargs["conversation_id"], body=f"Message {index}")
    return kwargs


def _lessons(owner) -> dict:
    _funded(owner)
    for _ in range(2):
        book(student=owner, tutor=tutor_teaching())
    return {}


def _refund_requests(owner) -> dict:
    _funded(owner)
    for _ in range(2):
        lesson = completed_lesson(student=owner, tutor=tutor_teaching())
        lessons.refund_request_create(student=owner, lesson_id=lesson.pk, reason="No show")
    return {}


def _withdrawals(tutor) -> dict:
    method = earnings.payout_method_add(tutor=tutor, token="btok_ok")
    fund(earnings.tutor_account(tutor_id=tutor.id, kind=AccountKind.TUTOR_AVAILABLE), 20_000, f"envelope:{tutor.id}")
    for _ in range(2):
        withdrawal = earnings.withdrawal_request(tutor=tutor, amount=5_000, payout_method_id=method.pk)
        # One withdrawal in flight per tutor: the first is paid before the second is asked for.
        Withdrawal.objects.filter(pk=withdrawal.pk).update(status=WithdrawalStatus.PAID)
    return {}


def _tutor_reviews(tutor) -> dict:
    for _ in range(2):
        matrix._review_of_lesson_taught(tutor)
    return {"pk": tutor.id}


# Route name -> make(owner): give the owner two rows in that list; returns the URL kwargs.
LIST_DATA = {
    "auth-tokens": _twice(matrix._tokens_of),
    "tutor-list": _tutors,
    "subject-list": _subjects,
    "community-posts": _posts,
    "community-comments": _comments,
    "community-feed": _feed,
    "community-tags": _posts,
    "conversation-list": _twice(matrix._conversations_of),
    "notification-list": _twice(matrix._notifications_of),
    "message-list": _messages,
    "lesson-list": _lessons,
    "refund-request-list": _refund_requests,
    "tutor-reviews": _tutor_reviews,
    "earnings-transactions": _twice(matrix._earnings_of),
    "earnings-payout-methods": _twice(matrix._payout_methods_of),
    "earnings-withdrawals": _withdrawals,
    "earnings-refund-requests": _twice(matrix._refunds_on_lessons_taught),
    "wallet-payment-methods": _twice(matrix._payment_methods_of),
    "wallet-top-ups": _twice(matrix._top_ups_of),
    "wallet-transactions": _twice(matrix._transactions_of),
}
# Lists whose page size also goes by an older name.
PAGE_SIZE_ALIASES = {"message-list": ["limit"]}

ROUTES = {route.name: route for route in api_routes()}


@cache
def _documented_lists() -> frozenset:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    def resolve(node: dict) -> dict:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[-1]]
        return node

    names = set()
    for route in ROUTES.values():
        operation = schema["paths"].get(route.openapi_path, {}).get("get")
        content = (operation or {}).get("responses", {}).get("200", {}).get("content", {})
        body = resolve(content.get("application/json", {}).get("schema", {}))
        if body.get("type") == "array" or "results" in body.get("properties", {}):
            names.add(route.name)
    return frozenset(names)


def list_routes() -> list[str]:
    by_view = {name for name, route in ROUTES.items() if issubclass(route.view, ListModelMixin)}
    return sorted(by_view | _documented_lists())


def caller(name: str):
    entry = matrix.MATRIX[name]
    return make_user(entry.owner_role if entry.owner_role in entry.roles else sorted(entry.roles)[0])


def filled_list(name: str, client_for):
    """(client of a caller who has two rows in the list, path of the list)."""
    owner = caller(name)
    kwargs = LIST_DATA[name](owner) if name in LIST_DATA else {}
    return client_for(owner), ROUTES[name].path(**kwargs)


@pytest.fixture(autouse=True)
def _fresh_cached_pages(settings):
    settings.CACHALOT_ENABLED = False


def test_lists_are_found():
    found = list_routes()
    assert {"wallet-payment-methods", "message-list", "community-tags", "tutor-list"} <= set(found)
    assert "wallet" not in found and "conversation-unread" not in found


def test_every_list_says_how_to_fill_it():
    missing = sorted(set(list_routes()) - set(LIST_DATA))
    stale = sorted(set(LIST_DATA) - set(list_routes()))
    assert not missing, f"list endpoints without a LIST_DATA entry: {missing}"
    assert not stale, f"LIST_DATA entries that are not list endpoints: {stale}"


@pytest.mark.django_db
@pytest.mark.parametrize("name", list_routes())
def test_every_list_answers_the_envelope(name, client_for):
    client, path = filled_list(name, client_for)
    response = client.get(path)
    assert response.status_code == 200, response.content
    body = response.json()
    assert isinstance(body, dict) and set(body) == ENVELOPE, body
    assert isinstance(body["results"], list) and len(body["results"]) >= 2, body
    assert body["next"] is None and body["previous"] is None  # two rows fit on one default page


@pytest.mark.django_db
@pytest.mark.parametrize("name", list_routes())
def test_an_oversized_page_size_is_clamped_the_same_on_every_list(name, client_for, settings):
    """With the cap at 1, `page_size=100000` gives one row and a `next` link to the other."""
    settings.MAX_PAGE_SIZE = 1
    client, path = filled_list(name, client_for)
    for param in ["page_size", *PAGE_SIZE_ALIASES.get(name, [])]:
        first = client.get(path, {param: 100_000})
        assert first.status_code == 200, first.content
        body = first.json()
        assert set(body) == ENVELOPE and len(body["results"]) == 1 and body["next"], body
        second = client.get(body["next"]).json()
        assert set(second) == ENVELOPE and len(second["results"]) == 1 and second["previous"], second
        assert second["results"][0] != body["results"][0]
        assert client.get(path, {param: 1}).json()["results"] == body["results"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", list_routes())
def test_an_invalid_page_size_is_400_naming_it(name, client_for):
    client, path = filled_list(name, client_for)
    for param in ["page_size", *PAGE_SIZE_ALIASES.get(name, [])]:
        for value in BAD_PAGE_SIZES:
            response = client.get(path, {param: value})
            assert response.status_code == 400, (param, value, response.content)
            body = response.json()
            assert body["code"] == "validation_error"
            assert body["fields"] == {param: ["A positive integer is required."]}, body


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(name for name, route in ROUTES.items() if "get" in route.methods))
def test_no_get_answers_a_list_outside_the_envelope(name, client_for):
    """The net under the discovery: whatever a GET answers, a bare array or a `results` key means
    a list the resolver and the schema did not reveal."""
    entry = matrix.MATRIX[name]
    owner = caller(name)
    kwargs = LIST_DATA[name](owner) if name in LIST_DATA else entry.setup(owner) if entry.setup else {}
    body = client_for(owner).get(ROUTES[name].path(**kwargs)).json()
    looks_like_a_list = isinstance(body, list) or (isinstance(body, dict) and "results" in body)
    assert not looks_like_a_list or name in list_routes(), f"{name} answers a list that is not found as one"

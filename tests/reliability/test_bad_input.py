"""Bad input never reaches a 500 (issue #9, part 6): every route from the URL resolver, every
method, hostile bodies, query strings and content types. Rejections carry the error envelope."""

import json

import pytest
from drf_spectacular.generators import SchemaGenerator

from reliability.routes import api_routes
from tests.reliability.authz_matrix import MATRIX
from tests.reliability.test_authz_matrix import make_user

ROUTES = [route for route in api_routes() if route.name in MATRIX]
SCHEMA = SchemaGenerator().get_schema(public=True)


def takes_body(route, method: str) -> bool:
    """Whether the OpenAPI operation has a request body; endpoints without one (actions such as
    POST .../complete) ignore whatever is sent, so only their not-500 promise is checked."""
    paths = SCHEMA["paths"]
    # drf-spectacular names a `pk` path parameter `id`.
    operation = paths.get(route.openapi_path) or paths[route.openapi_path.replace("{pk}", "{id}")]
    operation = operation[method]
    return "requestBody" in operation


BODY_METHODS = ("post", "put", "patch")
FIELDS = (
    "title body kind tags parent comment reason user tag email password role display_name bio hourly_rate "
    "subjects token make_default is_default amount payment_method enabled threshold monthly_cap lesson tutor "
    "subject starts_at duration_minutes payout_method participant_ids client_id message_id outcome note id up_to "
    "lesson_booked messages"
).split()
HUGE = 10**30


def each_field(value) -> dict:
    return {name: value for name in FIELDS}


# (name, raw JSON text, must be rejected with a 4xx)
BODIES = [
    ("array", "[]", True),
    ("string", '"text"', True),
    ("number", "42", True),
    ("null", "null", True),
    ("truncated", '{"title": "x"', True),
    ("not_utf8", b'{"title": "\xff\xfe"}', True),
    ("deeply_nested_array", "[" * 100_000 + "]" * 100_000, True),
    ("deeply_nested_object", '{"a":' * 50_000 + "1" + "}" * 50_000, True),
    ("nul_in_strings", json.dumps(each_field("a\x00b")), True),
    ("nul_in_key", json.dumps({"title\x00": "x", **each_field("x")}), True),
    ("lone_surrogate", '{"title": "\\ud800", "body": "\\udfff", "reason": "\\ud800"}', True),
    ("objects_for_everything", json.dumps(each_field({"nested": ["x"]})), False),
    ("lists_for_everything", json.dumps(each_field([1, "two", None])), False),
    ("huge_integers", json.dumps(each_field(HUGE)), False),
    ("negative_integers", json.dumps(each_field(-1)), False),
    ("floats", json.dumps(each_field(1.5)), False),
    ("over_precise_money", json.dumps(each_field("1.005")), False),
    ("negative_money", json.dumps(each_field("-5.00")), False),
    ("exponent_money", json.dumps(each_field("1e3")), False),
    ("nan", '{"amount": NaN, "hourly_rate": Infinity, "threshold": -Infinity}', False),
    ("booleans", json.dumps(each_field(True)), False),
    ("long_strings", json.dumps(each_field("x" * 100_000)), False),
    ("unicode", json.dumps(each_field("ẞ👩🏽‍🏫\u202eטקסט\u0301\ufeff\u200b𝔘")), False),
    ("empty_strings", json.dumps(each_field("")), False),
    ("huge_id_list", json.dumps({"participant_ids": list(range(1, 5000)), "tags": ["t"] * 5000}), False),
]
QUERIES = [
    "page_size=1000000000000000000000000000000",
    "page_size=-1",
    "page_size=abc",
    "page_size=0",
    "cursor=garbage",
    "cursor=" + "A" * 5000,
    "cursor=cD0xMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw",  # base64 of p=10**27
    "cursor=%00",
    "q=%00",
    "q=" + "%F0%9F%91%A9" * 100,
    "tag=" + "x" * 10_000,
    "author=1000000000000000000000000000000",
    "author=-1&kind=bogus&ordering=bogus",
    "type=bogus&status=bogus&created_after=not-a-date&created_before=2026-13-45",
    "before=1000000000000000000000000000000&after=-5&limit=1000000000000000000000000000000",
    "period=bogus&group_by=bogus&from=yesterday&to=%00",
    "subject=%00",
    "since=-1",
]
CONTENT_TYPES = [
    ("text/plain", b"hello"),
    ("application/x-www-form-urlencoded", b"title=x&body=y"),
    ("multipart/form-data; boundary=xyz", b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--xyz--\r\n'),
    ("application/xml", b"<a>1</a>"),
    ("application/json; charset=latin-1", b'{"title": "x"}'),
]


def assert_handled(response, *, must_reject: bool) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])
    if must_reject:
        assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("code"), str) and isinstance(body.get("detail"), str), body


def caller_and_path(route):
    """A caller the route admits, and a path to an object when the route has an id: the caller's
    own, or for a role that acts on others' objects (staff deciding a student's refund), the
    owner's."""
    entry = MATRIX[route.name]
    owner = make_user(entry.owner_role)
    caller = owner if entry.owner_role in entry.roles else make_user(sorted(entry.roles)[0])
    kwargs = entry.setup(owner) if route.params else {}
    return caller, route.path(**kwargs)


@pytest.fixture(autouse=True)
def _no_rate_limits(settings):
    settings.RATE_LIMITS_ENABLED = False


def params(methods):
    return [
        pytest.param(route, method, id=f"{route.name}-{method}")
        for route in ROUTES
        for method in route.methods
        if method in methods
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("route,method", params(BODY_METHODS))
def test_hostile_bodies(route, method, client_for):
    user, path = caller_and_path(route)
    client = client_for(user)
    for name, raw, must_reject in BODIES:
        for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": f"bad-input-{name}"}):
            response = getattr(client, method)(path, data=raw, content_type="application/json", **headers)
            try:
                assert_handled(response, must_reject=must_reject and takes_body(route, method))
            except AssertionError as exc:
                raise AssertionError(f"{method.upper()} {path} with {name} {headers}: {exc}") from exc


@pytest.mark.django_db
@pytest.mark.parametrize("route,method", params(BODY_METHODS))
def test_other_content_types_are_415(route, method, client_for):
    user, path = caller_and_path(route)
    client = client_for(user)
    for content_type, raw in CONTENT_TYPES:
        response = getattr(client, method)(path, data=raw, content_type=content_type)
        assert_handled(response, must_reject="json" not in content_type)
        if "json" not in content_type:
            assert response.status_code == 415, (method, path, content_type, response.status_code)
            assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.django_db
@pytest.mark.parametrize("route,method", params(BODY_METHODS))
def test_bodies_over_the_size_limit_are_413(route, method, client_for, settings):
    user, path = caller_and_path(route)
    raw = json.dumps({"title": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    response = getattr(client_for(user), method)(path, data=raw, content_type="application/json")
    assert response.status_code == 413, response.status_code
    assert response.json()["code"] == "request_too_large"


@pytest.mark.django_db
@pytest.mark.parametrize("route,method", params(("get", "delete")))
def test_hostile_query_strings(route, method, client_for):
    user, path = caller_and_path(route)
    client = client_for(user)
    for query in QUERIES:
        response = getattr(client, method)(f"{path}?{query}")
        try:
            assert_handled(response, must_reject="%00" in query)
        except AssertionError as exc:
            raise AssertionError(f"{method.upper()} {path}?{query[:80]}: {exc}") from exc


@pytest.mark.django_db
def test_ids_beyond_bigint_in_paths_are_404(client_for):
    user = make_user("student")
    client = client_for(user)
    for route in ROUTES:
        if not route.params:
            continue
        path = route.path(**{param: HUGE for param in route.params})
        for method in route.methods:
            response = getattr(client, method)(path, {}, format="json")
            assert response.status_code < 500, (method, path, response.status_code)

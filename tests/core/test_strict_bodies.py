"""Strict bodies on every write endpoint (generated from the URL resolver, like the authorization
matrix): an unknown field is a 400 `unknown_field` naming it and changes nothing; a datetime
without a time zone is a 400 on that field, in bodies and in query strings."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework import serializers as drf

from reliability.routes import api_routes
from tests.lessons.factories import SUBJECT, tutor_teaching
from tests.reliability.authz_matrix import MATRIX, _funded
from tests.reliability.test_authz_matrix import database_state, make_user
from wemaster.core import serializers

PROJECT_PACKAGES = {"wemaster", "wallet", "earnings", "messaging", "community"}
WRITE_METHODS = ("post", "put", "patch", "delete")
UNKNOWN = {"zz_not_a_field": 1}


@pytest.fixture
def student_client(client_for, student):
    return client_for(student)


def write_cases():
    for route in sorted(api_routes(), key=lambda route: route.name):
        for method in WRITE_METHODS:
            if method in route.methods:
                yield pytest.param(route, method, id=f"{route.name}-{method}")


def caller_for(entry, method: str):
    """The role that may call `method` (None: anonymous), and the owner the setup builds on."""
    if method in entry.public:
        return None
    role = entry.owner_role if entry.owner_role in entry.roles else sorted(entry.roles)[0]
    return make_user(role)


@pytest.mark.django_db
@pytest.mark.parametrize("route,method", list(write_cases()))
def test_an_unknown_body_field_is_refused_on_every_write(route, method, client_for, api_client):
    entry = MATRIX[route.name]
    user = caller_for(entry, method)
    owner = user or make_user(entry.owner_role)
    kwargs = entry.setup(owner) if route.params else {}
    client = client_for(user) if user is not None else api_client
    before = database_state()
    response = getattr(client, method)(route.path(**kwargs), UNKNOWN, format="json")
    assert response.status_code == 400, (response.status_code, response.content)
    body = response.json()
    assert body["code"] == "unknown_field", body
    assert body["fields"] == {"zz_not_a_field": ["Unknown field."]}
    assert "zz_not_a_field" in body["detail"]
    assert database_state() == before


@pytest.mark.django_db
def test_unknown_fields_are_named_even_next_to_valid_ones(student_client):
    response = student_client.post("/api/v1/wallet/payment-methods", {"token": "tok_visa", "mak_default": True})
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"
    assert response.json()["fields"] == {"mak_default": ["Unknown field."]}


@pytest.mark.django_db
def test_a_naive_starts_at_is_refused(client_for, student):
    tutor = tutor_teaching()
    starts_at = (timezone.now() + timedelta(days=2)).replace(microsecond=0, tzinfo=None)
    body = {"tutor": tutor.id, "subject": SUBJECT, "duration_minutes": 60}
    client = client_for(_funded(student))
    for naive in (starts_at.isoformat(), starts_at.date().isoformat()):
        response = client.post("/api/v1/lessons", {**body, "starts_at": naive}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "validation_error"
        assert list(response.json()["fields"]) == ["starts_at"]
    aware = client.post("/api/v1/lessons", {**body, "starts_at": starts_at.isoformat() + "Z"}, format="json")
    assert aware.status_code == 201, aware.content


@pytest.mark.django_db
@pytest.mark.parametrize("param", ["created_after", "created_before"])
def test_a_naive_datetime_in_a_query_string_is_refused(student_client, param):
    response = student_client.get("/api/v1/wallet/transactions", {param: "2026-01-01T00:00:00"})
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [param]
    assert student_client.get("/api/v1/wallet/transactions", {param: "2026-01-01T00:00:00+02:00"}).status_code == 200


def _project_serializer_classes():
    assert api_routes()  # the URLconf imports every view, and with it every serializer
    seen, stack = set(), [drf.BaseSerializer]
    while stack:
        for subclass in stack.pop().__subclasses__():
            if subclass not in seen:
                seen.add(subclass)
                stack.append(subclass)
    # the bases in wemaster.core.serializers are what the rest is checked against
    ours = [cls for cls in seen if cls.__module__.split(".")[0] in PROJECT_PACKAGES]
    return sorted(
        (cls for cls in ours if cls.__module__ != serializers.__name__),
        key=lambda cls: f"{cls.__module__}.{cls.__qualname__}",
    )


def test_every_serializer_of_the_project_is_strict_and_zone_aware():
    classes = _project_serializer_classes()
    assert len(classes) > 30
    lax = [cls for cls in classes if not issubclass(cls, (serializers.StrictBodyMixin, drf.ListSerializer))]
    assert not lax, f"serializers not built on wemaster.core.serializers: {lax}"
    naive = [
        f"{cls.__qualname__}.{name}"
        for cls in classes
        if issubclass(cls, drf.Serializer)
        for name, field in cls().fields.items()
        if isinstance(field, drf.DateTimeField) and not isinstance(field, serializers.DateTimeField)
    ]
    assert not naive, f"DateTimeFields that would accept a time without a zone: {naive}"

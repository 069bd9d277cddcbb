"""The OpenAPI schema as client developers meet it in Swagger UI: one tag per operation from the
declared set, the token as the one authentication scheme, and descriptions written for clients
(no maintainer notes from docstrings)."""

import inspect
import re

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from wemaster.core.schema import TAG_BY_SEGMENT, tag_for_path

TAGS = ["accounts", "wallet", "lessons", "earnings", "messaging", "community", "notifications", "operations"]
METHODS = ("get", "post", "put", "patch", "delete")
# Words of the implementation a client has no use for; finding one means a maintainer's note leaked.
INTERNAL_TERMS = re.compile(
    r"cachalot|replica|readme|design\.md|selectors?\b|services?\.py|throttle_scope|celery|redis|docstring",
    re.IGNORECASE,
)
OUR_PACKAGES = ("wemaster.", "wallet.", "earnings.", "messaging.", "community.")


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def texts(node, where=""):
    """Every description and summary in the document, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                yield f"{where}/{key}", value
            else:
                yield from texts(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from texts(value, f"{where}[{index}]")


def test_the_declared_tags_are_the_eight_areas_each_described(schema):
    assert [tag["name"] for tag in schema["tags"]] == TAGS
    assert all(tag["description"].strip() for tag in schema["tags"])
    assert set(TAG_BY_SEGMENT.values()) == set(TAGS)


def test_every_operation_has_exactly_one_declared_tag_and_every_tag_is_used(schema):
    wrong = {
        f"{method} {path}": op.get("tags")
        for method, path, op in operations(schema)
        if op.get("tags") not in [[t] for t in TAGS]
    }
    assert not wrong, f"operations without exactly one declared tag (map their path in TAG_BY_SEGMENT): {wrong}"
    used = {op["tags"][0] for _, _, op in operations(schema)}
    assert used == set(TAGS)


@pytest.mark.parametrize(
    ("path", "tag"),
    [
        ("/api/v1/me", "accounts"),
        ("/api/v1/wallet/refund-requests/{id}/approve", "wallet"),
        ("/api/v1/conversations/{conversation_id}/messages", "messaging"),
        ("/api/v1/messages", None),  # "me" is a whole segment, not a prefix
        ("/api/v1/announcements", None),  # not mapped: drf-spectacular's default, refused above
        ("/healthz", None),
    ],
)
def test_a_path_is_tagged_by_its_first_segment(path, tag):
    assert tag_for_path(path) == tag


def test_the_token_is_the_only_security_scheme(schema):
    schemes = schema["components"]["securitySchemes"]
    assert list(schemes) == ["tokenAuth"]
    assert schemes["tokenAuth"]["type"] == "apiKey"
    assert (schemes["tokenAuth"]["in"], schemes["tokenAuth"]["name"]) == ("header", "Authorization")
    assert "Token <key>" in schemes["tokenAuth"]["description"]
    for method, path, operation in operations(schema):
        named = [name for requirement in operation.get("security", []) for name in requirement]
        assert set(named) <= {"tokenAuth"}, f"{method} {path}: {operation['security']}"
    me = schema["paths"]["/api/v1/me"]["get"]
    assert me["security"] == [{"tokenAuth": []}]  # private: the token and nothing else
    tutors = schema["paths"]["/api/v1/tutors"]["get"]
    assert tutors["security"][0] == {"tokenAuth": []} and {} in tutors["security"]  # public: optional


def test_session_authentication_still_serves_the_browsable_api():
    assert (
        "wemaster.core.authentication.PrimarySessionAuthentication"
        in (settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"])
    )


def test_no_description_speaks_of_the_implementation(schema):
    leaks = [f"{where}: {text}" for where, text in texts(schema) if INTERNAL_TERMS.search(text)]
    assert not leaks, "\n".join(leaks)


def _view_classes():
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and hasattr(pattern.callback, "cls"):
                yield pattern.callback.cls

    return {cls for cls in walk(get_resolver().url_patterns) if cls.__module__.startswith(OUR_PACKAGES)}


def _serializer_classes():
    found, stack = set(), [serializers.BaseSerializer]
    while stack:
        for subclass in stack.pop().__subclasses__():
            stack.append(subclass)
            if subclass.__module__.startswith(OUR_PACKAGES):
                found.add(subclass)
    return found


def test_no_view_or_serializer_docstring_reaches_the_schema(schema):
    """Docstrings are written for maintainers; the schema carries only client-facing text."""
    documented = [cls for cls in _view_classes() | _serializer_classes() if cls.__doc__]
    assert len(documented) > 10  # views and serializers with docstrings exist, so this can fail
    all_text = "\n".join(text for _, text in texts(schema))
    leaked = []
    for cls in documented:
        first_line = inspect.cleandoc(cls.__doc__).splitlines()[0]
        if len(first_line) > 20 and first_line in all_text:
            leaked.append(f"{cls.__module__}.{cls.__qualname__}: {first_line}")
    assert not leaked, "\n".join(leaked)


def test_explicit_descriptions_still_reach_the_schema(schema):
    follows = schema["paths"]["/api/v1/community/follows"]["delete"]
    assert follows["description"] == "Body or query string: `user` or `tag`. Idempotent."
    assert "Authorization: Token" in schema["info"]["description"]
    assert "docs/API.md" in schema["info"]["description"]

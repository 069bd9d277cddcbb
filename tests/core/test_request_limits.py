"""Oversized headers and query strings are refused before any cache or database work (issue:
402 anonymous `GET /api/v1/me` with ~500 KB tokens took Redis from 176 to 578 MiB)."""

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

ME = "/api/v1/me"


def _cache_keys() -> int:
    cache = caches["default"]
    if hasattr(cache, "_cache"):  # the in-process cache of the embedded default
        return len(cache._cache)
    return len(cache.keys("*"))


@pytest.mark.django_db
def test_a_500_kb_authorization_header_is_431_without_a_query_or_a_cache_write(api_client):
    before = _cache_keys()
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get(ME, HTTP_AUTHORIZATION="Token " + "a" * 500_000)
    assert response.status_code == 431
    assert response.json()["code"] == "request_header_too_large"
    assert len(queries) == 0
    assert _cache_keys() == before


@pytest.mark.django_db
def test_headers_adding_up_past_the_limit_are_431(api_client, settings):
    settings.REQUEST_MAX_HEADER_BYTES = 8 * 1024
    headers = {f"HTTP_X_PART_{index}": "b" * 1000 for index in range(9)}  # each one small, 9 KB in all
    response = api_client.get("/api/v1/community/posts", **headers)
    assert response.status_code == 431 and response.json()["code"] == "request_header_too_large"
    # Just under the limit passes.
    headers = {f"HTTP_X_PART_{index}": "b" * 1000 for index in range(6)}
    assert api_client.get("/api/v1/community/posts", **headers).status_code == 200


@pytest.mark.django_db
def test_a_long_query_string_is_414_without_a_query(api_client, settings):
    settings.REQUEST_MAX_QUERY_STRING_BYTES = 2048
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get("/api/v1/tutors", {"subject": "x" * 3000})
    assert response.status_code == 414
    assert response.json() == {"code": "uri_too_long", "detail": "The query string exceeds 2048 bytes."}
    assert len(queries) == 0
    assert api_client.get("/healthz", {"pad": "x" * 2000}).status_code == 200  # 2,004 bytes pass


@pytest.mark.django_db
def test_too_many_query_parameters_are_a_400_envelope(api_client, settings):
    settings.REQUEST_MAX_QUERY_STRING_BYTES = 0  # off: Django's own field count applies
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 500
    query = "&".join(f"f{index}=1" for index in range(600))
    response = api_client.get(f"/api/v1/community/posts?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"

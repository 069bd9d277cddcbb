"""Error envelope, pagination cap and throttling: the conventions every endpoint shares."""

import threading

import pytest
from rest_framework.test import APIClient

from tests.accounts.factories import TutorFactory


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.django_db
def test_400_envelope_has_fields(api_client):
    body = assert_envelope(api_client.post("/api/v1/auth/token", {}, format="json"), 400, "validation_error")
    assert set(body["fields"]) == {"email", "password"}


@pytest.mark.django_db
def test_400_for_malformed_json(api_client):
    response = api_client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert_envelope(response, 400, "parse_error")


@pytest.mark.django_db
def test_415_for_non_json_body(api_client):
    response = api_client.post("/api/v1/auth/token", data="email=a", content_type="application/x-www-form-urlencoded")
    assert_envelope(response, 415, "unsupported_media_type")


@pytest.mark.django_db
def test_401_envelope(api_client):
    assert_envelope(api_client.get("/api/v1/me"), 401, "not_authenticated")


@pytest.mark.django_db
def test_404_envelope_for_unknown_route(api_client):
    assert_envelope(api_client.get("/api/v1/no-such-thing"), 404, "not_found")


@pytest.mark.django_db
def test_405_envelope(api_client):
    assert_envelope(api_client.delete("/api/v1/tutors"), 405, "method_not_allowed")


@pytest.mark.django_db
def test_429_envelope_with_retry_after(api_client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "2/min"},
    }
    for _ in range(2):
        assert api_client.post("/api/v1/auth/token", {}, format="json").status_code == 400
    response = api_client.post("/api/v1/auth/token", {}, format="json")
    assert_envelope(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db
def test_rate_limits_off_switch(api_client, settings):
    settings.RATE_LIMITS_ENABLED = False
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": "1/min"},
    }
    statuses = {api_client.post("/api/v1/auth/token", {}, format="json").status_code for _ in range(5)}
    assert statuses == {400}


@pytest.mark.django_db(transaction=True)
def test_throttle_is_exact_under_a_concurrent_burst(settings):
    """50 threads at once against a 10/min scope: exactly 10 pass (atomic counters)."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "register": "10/min"},
    }
    barrier = threading.Barrier(50)
    statuses = []
    lock = threading.Lock()

    def hit():
        client = APIClient()
        barrier.wait()
        # invalid body: the throttle decides before the view touches the database
        status = client.post("/api/v1/auth/register", {}, format="json").status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=hit) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(400) == 10
    assert statuses.count(429) == 40


@pytest.mark.django_db
def test_page_size_is_capped_at_100(api_client, settings):
    settings.CACHALOT_ENABLED = False
    TutorFactory.create_batch(105)
    body = api_client.get("/api/v1/tutors", {"page_size": 1000}).json()
    assert len(body["results"]) == 100
    assert body["next"]
    rest = api_client.get(body["next"]).json()
    assert len(rest["results"]) == 5
    assert rest["next"] is None
    assert {r["id"] for r in body["results"]}.isdisjoint({r["id"] for r in rest["results"]})


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{"cursor": "garbage"}, {"page_size": "-3"}, {"page_size": "ten"}])
def test_bad_pagination_input_is_400(api_client, query):
    response = api_client.get("/api/v1/tutors", query)
    assert response.status_code == 400
    assert response.json()["code"] in {"invalid_cursor", "validation_error"}


def test_schema_generates_without_warnings():
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", "/dev/null")


@pytest.mark.django_db
def test_swagger_ui_is_served_locally(api_client):
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert api_client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/auth/register" in schema.json()["paths"]

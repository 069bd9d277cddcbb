import pytest


@pytest.mark.django_db
def test_healthz(api_client):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_when_everything_answers(api_client):
    response = api_client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "cache": "ok", "channel_layer": "ok"}


@pytest.mark.django_db
def test_readyz_503_names_the_unreachable_cache(api_client, settings, unused_tcp_port):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{unused_tcp_port}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    response = api_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "not_ready"
    assert set(body["failing"]) == {"cache"}
    assert "cache" in body["detail"]


@pytest.mark.django_db
def test_metrics_exposes_latency_histogram_and_db_counter(api_client):
    api_client.get("/api/v1/tutors")
    response = api_client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert 'wemaster_db_queries_total{alias="default"}' in text


@pytest.mark.django_db
def test_ping_is_a_bare_view(api_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api_client.get("/api/v1/ping")
    assert response.status_code == 200
    assert response.json() == {"pong": True}

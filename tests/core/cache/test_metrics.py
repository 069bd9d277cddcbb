import pytest

from tests.accounts.factories import TutorFactory

pytestmark = pytest.mark.django_db


def test_metrics_expose_hits_and_misses_per_level_and_family(api_client):
    TutorFactory()
    for _ in range(3):
        api_client.get("/api/v1/tutors")
    text = api_client.get("/metrics").content.decode()
    for level, result in [("memory", "miss"), ("memory", "hit"), ("redis", "miss")]:
        assert f'wemaster_cache_requests_total{{family="tutor_directory",level="{level}",result="{result}"}}' in text
    assert 'wemaster_cache_computes_total{family="tutor_directory"}' in text
    assert "wemaster_cache_stale_served_total" in text


@pytest.mark.redis
def test_metrics_expose_the_breaker_state(api_client):
    api_client.get("/api/v1/tutors")
    text = api_client.get("/metrics").content.decode()
    assert 'wemaster_cache_breaker_state{breaker="redis:127.0.0.1:6379/' in text

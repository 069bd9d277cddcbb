"""Who may read /metrics: the bearer token (METRICS_TOKEN), the address allow-list
(METRICS_ALLOWED_ADDRESSES), both, or, in production with neither, nobody."""

import json
import os
import subprocess
import sys

import pytest

from bench.topology import ROOT

pytestmark = pytest.mark.django_db

TOKEN = "a-metrics-token-of-32-characters"


@pytest.fixture
def token_only(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []


def scrape(client, **headers):
    return client.get("/metrics", **headers)


def test_without_the_token_401_names_the_scheme(api_client, token_only):
    response = scrape(api_client)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert scrape(api_client, HTTP_AUTHORIZATION=f"Token {TOKEN}").status_code == 401
    assert scrape(api_client, HTTP_AUTHORIZATION="Bearer ").status_code == 401


def test_a_wrong_token_is_403(api_client, token_only):
    response = scrape(api_client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}x")
    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert "wemaster_" not in response.content.decode()


def test_the_token_opens_the_exposition(api_client, token_only):
    response = scrape(api_client, HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    for series in ("django_http_requests_latency_seconds_by_view_method_bucket", "wemaster_payouts_total"):
        assert series in text
    assert scrape(api_client, HTTP_AUTHORIZATION=f"bearer {TOKEN}", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_an_address_outside_the_allow_list_is_403(api_client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8", "2001:db8::/32"]
    assert scrape(api_client, REMOTE_ADDR="127.0.0.1").status_code == 403
    assert scrape(api_client, REMOTE_ADDR="not-an-address").status_code == 403
    assert scrape(api_client, REMOTE_ADDR="10.20.30.40").status_code == 200
    assert scrape(api_client, REMOTE_ADDR="::ffff:10.0.0.7").status_code == 200  # IPv4 seen through IPv6
    assert scrape(api_client, REMOTE_ADDR="2001:db8::1").status_code == 200


def test_the_allow_list_checks_the_client_our_proxy_reports_never_a_forged_header(api_client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    # Through our nginx: the address nginx received the scrape from decides.
    assert scrape(api_client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.1.1.1").status_code == 200
    assert scrape(api_client, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 403
    # A client talking to a worker directly cannot choose its address with the header.
    assert scrape(api_client, REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.1.1.1").status_code == 403


def test_with_both_set_both_are_required(api_client, settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = ["10.0.0.0/8"]
    bearer = f"Bearer {TOKEN}"
    assert scrape(api_client, REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION=bearer).status_code == 403
    assert scrape(api_client, REMOTE_ADDR="10.0.0.1").status_code == 401
    assert scrape(api_client, REMOTE_ADDR="10.0.0.1", HTTP_AUTHORIZATION=bearer).status_code == 200


def test_with_neither_configured_every_scrape_is_refused(api_client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_ADDRESSES = []
    response = scrape(api_client, REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 403
    assert "METRICS_TOKEN" in response.json()["detail"]


def test_only_get(api_client):
    assert api_client.post("/metrics").status_code == 405


PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({"token": s.METRICS_TOKEN, "allowed": s.METRICS_ALLOWED_ADDRESSES,
                  "exempt": getattr(s, "SECURE_REDIRECT_EXEMPT", [])}))
"""


def load_settings(**variables) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METRICS_", "DJANGO_"))}
    env.update(variables, DJANGO_SETTINGS_MODULE="wemaster.settings")
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def loaded(**variables) -> dict:
    result = load_settings(**variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_development_opens_metrics_to_loopback_and_production_to_nobody():
    assert loaded()["allowed"] == ["127.0.0.1/32", "::1/128"]
    production = loaded(DJANGO_ENV="production", DJANGO_SECRET_KEY="x" * 50)
    assert (production["allowed"], production["token"]) == ([], "")
    assert production["exempt"] == ["^metrics$"]  # scraped over plain HTTP inside the network
    configured = loaded(
        DJANGO_ENV="production",
        DJANGO_SECRET_KEY="x" * 50,
        METRICS_TOKEN=TOKEN,
        METRICS_ALLOWED_ADDRESSES="10.0.0.0/8,192.0.2.7",
    )
    assert (configured["token"], configured["allowed"]) == (TOKEN, ["10.0.0.0/8", "192.0.2.7"])


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"METRICS_ALLOWED_ADDRESSES": "10.0.0.0/33"}, "METRICS_ALLOWED_ADDRESSES"),
        ({"METRICS_ALLOWED_ADDRESSES": "prometheus.internal"}, "METRICS_ALLOWED_ADDRESSES"),
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN"),
    ],
)
def test_invalid_metrics_settings_refuse_to_start(variables, message):
    result = load_settings(**variables)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr

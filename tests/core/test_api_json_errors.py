"""Every error under /api/ is the JSON envelope, with DEBUG on (where Django's technical 404 and
500 pages would otherwise answer) and off (handler404/handler500)."""

import pytest
from django.test import Client

from wemaster.core.views import PingView

MODES = [pytest.param(True, id="debug"), pytest.param(False, id="production")]


def assert_json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.fixture
def client_in_mode(settings, request):
    settings.DEBUG = request.param
    return Client(raise_request_exception=False)


@pytest.mark.django_db
@pytest.mark.parametrize("client_in_mode", MODES, indirect=True)
@pytest.mark.parametrize("path", ["/api/v1/nonexistent", "/api/v1/lessons/abc", "/api/nothing", "/api/v1/ping/x"])
def test_unrouted_api_paths_are_json_404(client_in_mode, path):
    assert_json_error(client_in_mode.get(path), 404, "not_found")


@pytest.mark.django_db
@pytest.mark.parametrize("client_in_mode", MODES, indirect=True)
def test_405_is_json_with_allow(client_in_mode):
    response = client_in_mode.delete("/api/v1/tutors")
    assert_json_error(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@pytest.mark.django_db
@pytest.mark.parametrize("client_in_mode", MODES, indirect=True)
def test_unhandled_exception_in_an_api_view_is_json_500(client_in_mode, monkeypatch, caplog):
    def explode(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(PingView, "get", explode)
    with caplog.at_level("ERROR", logger="django.request"):
        body = assert_json_error(client_in_mode.get("/api/v1/ping"), 500, "server_error")
    assert "boom" not in str(body)  # no internals in the body, debug or not
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)


@pytest.mark.django_db
@pytest.mark.parametrize("client_in_mode", MODES, indirect=True)
def test_paths_outside_the_api_keep_django_pages(client_in_mode, settings):
    response = client_in_mode.get("/no-such-page")
    assert response.status_code == 404
    expected = "text/html" if settings.DEBUG else "application/json"  # the handler404 of the project
    assert response["Content-Type"].startswith(expected)


@pytest.mark.parametrize(
    "status,code,detail",
    [(410, "bad_request", "Gone."), (502, "server_error", "Bad Gateway."), (404, "not_found", "Not found.")],
)
def test_a_status_without_its_own_code_answers_the_generic_one_of_its_class(status, code, detail):
    from wemaster.core.errors import status_error_body

    body = status_error_body(status)
    assert (body["code"], body["detail"]) == (code, detail)

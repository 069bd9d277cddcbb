"""Structured logs (docs/OPERATIONS.md, Logs): one JSON line per request with its request id (the
client's when safe, echoed), user, view, status and duration; the same request id in the Celery
tasks it enqueued and in websocket consumers; one line per money transfer, on commit only; and no
secret ever written, checked on the rendered output of a run of secret-handling requests."""

import io
import json
import logging
import re
import time

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core import mail
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from tests.accounts.factories import PASSWORD, StudentFactory, token_for
from tests.ledger.factories import funded_wallet
from wemaster.celery import app as celery_app
from wemaster.core.logging import REDACTED, logging_config, redact, request_id_from
from wemaster.core.views import PingView
from wemaster.ledger import services as ledger
from wemaster.ledger.models import AccountKind, TransferKind

REQUEST_LINES = ("request_finished", "request_failed")


class LogCapture:
    """Every line the process writes while the fixture is active, rendered by the production JSON
    formatter (what an operator would read), as text and parsed."""

    def __init__(self):
        self.stream = io.StringIO()
        formatter = logging_config(log_format="json", level="DEBUG")["formatters"]["structured"]
        factory = formatter.pop("()")
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(factory(**formatter))

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def attach(self) -> None:
        root = logging.getLogger()
        root.addHandler(self.handler)
        root.setLevel(logging.DEBUG)

    def clear(self) -> None:
        self.stream.seek(0)
        self.stream.truncate()

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def events(self, name: str) -> list[dict]:
        return [line for line in self.lines() if line.get("event") == name]

    def requests(self) -> list[dict]:
        return [line for line in self.lines() if line.get("event") in REQUEST_LINES]


@pytest.fixture
def logs():
    """All output at every level, from every logger that propagates to the root."""
    capture = LogCapture()
    root = logging.getLogger()
    level = root.level
    capture.attach()
    yield capture
    root.removeHandler(capture.handler)
    root.setLevel(level)


# --- the request line ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_line_per_request_with_its_fields_and_the_clients_request_id_echoed(logs, client_for, student):
    response = client_for(student).get("/api/v1/me?token=sekrit-in-query", HTTP_X_REQUEST_ID="edge-1.a_B")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "edge-1.a_B"
    (line,) = logs.requests()
    assert line["event"] == "request_finished"
    assert (line["request_id"], line["user_id"], line["view"]) == ("edge-1.a_B", student.id, "me")
    assert (line["method"], line["path"], line["status"], line["level"]) == ("GET", "/api/v1/me", 200, "info")
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert "sekrit-in-query" not in logs.text  # the path is logged without its query string
    assert not [line for line in logs.lines() if line["logger"] in ("django.request", "django.server")]


@pytest.mark.django_db
@pytest.mark.parametrize("incoming", ["has space", "x" * 65, "semi;colon", "new\nline", "é"])
def test_an_unsafe_request_id_is_replaced_by_a_new_one(logs, api_client, incoming):
    response = api_client.get("/api/v1/ping", HTTP_X_REQUEST_ID=incoming)
    generated = response["X-Request-ID"]
    assert generated != incoming and re.fullmatch(r"[0-9a-f-]{36}", generated)
    (line,) = logs.requests()
    assert line["request_id"] == generated


def test_request_ids_are_kept_only_when_short_and_plain():
    assert request_id_from("a" * 64) == "a" * 64
    assert request_id_from("a" * 65) != "a" * 65
    assert request_id_from(None) != request_id_from(None)


@pytest.mark.django_db
def test_a_request_without_an_id_gets_one_and_each_request_its_own(logs, api_client):
    first, second = api_client.get("/api/v1/ping"), api_client.get("/api/v1/ping")
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert [line["request_id"] for line in logs.requests()] == [first["X-Request-ID"], second["X-Request-ID"]]
    assert [line["user_id"] for line in logs.requests()] == [None, None]


@pytest.mark.django_db
def test_early_refusals_and_404s_have_their_request_id_and_one_line(logs, api_client, settings):
    settings.REQUEST_MAX_HEADER_BYTES = 1024
    refused = api_client.get("/api/v1/ping", HTTP_X_REQUEST_ID="big-1", HTTP_X_FILLER="f" * 2000)
    missing = api_client.get("/api/v1/no-such-thing", HTTP_X_REQUEST_ID="missing-1")
    assert (refused.status_code, refused["X-Request-ID"]) == (431, "big-1")
    assert (missing.status_code, missing["X-Request-ID"]) == (404, "missing-1")
    assert [(line["request_id"], line["status"], line["view"], line["level"]) for line in logs.requests()] == [
        ("big-1", 431, None, "warning"),
        ("missing-1", 404, None, "warning"),
    ]


@pytest.mark.django_db
def test_an_unhandled_exception_is_one_request_failed_line_with_the_traceback(logs, monkeypatch):
    def explode(self, request):
        raise RuntimeError("boom")

    monkeypatch.setattr(PingView, "get", explode)
    response = Client(raise_request_exception=False).get("/api/v1/ping", HTTP_X_REQUEST_ID="fails-1")
    assert (response.status_code, response["X-Request-ID"]) == (500, "fails-1")
    (line,) = logs.requests()
    assert (line["event"], line["status"], line["level"]) == ("request_failed", 500, "error")
    assert line["request_id"] == "fails-1"
    assert "boom" in json.dumps(line["exception"])


# --- money --------------------------------------------------------------------------------------


def move(amount: int, reference: str, wallet, external):
    return ledger.transfer(
        kind=TransferKind.TOP_UP,
        reference=reference,
        currency=wallet.currency,
        legs=[ledger.Leg(external.id, -amount), ledger.Leg(wallet.id, amount)],
    )


@pytest.mark.django_db
def test_one_money_line_per_transfer_after_commit_and_none_if_rolled_back(logs, django_capture_on_commit_callbacks):
    wallet = funded_wallet(StudentFactory(), 100)
    external = ledger.platform_account(kind=AccountKind.EXTERNAL_FUNDING, currency=wallet.currency)
    with django_capture_on_commit_callbacks(execute=True):
        transfer = move(1_250, "top_up:logged", wallet, external)
        assert logs.events("money_transfer") == []  # not before commit
        with pytest.raises(RuntimeError), transaction.atomic():
            move(999, "top_up:rolled-back", wallet, external)
            raise RuntimeError("the surrounding work failed")
    (line,) = logs.events("money_transfer")
    assert {key: line[key] for key in ("transfer_id", "kind", "amount", "currency", "reference")} == {
        "transfer_id": transfer.id,
        "kind": "top_up",
        "amount": "12.50",
        "currency": wallet.currency,
        "reference": "top_up:logged",
    }
    assert (line["debit_accounts"], line["credit_accounts"]) == ([external.id], [wallet.id])


@pytest.mark.django_db
def test_a_hold_capture_is_one_money_line_with_every_credited_account(logs, django_capture_on_commit_callbacks):
    wallet = funded_wallet(StudentFactory(), 5_000)
    hold = ledger.hold_create(account=wallet, amount=3_000, reference="lesson:77")
    payee = ledger.student_wallet_account(student=StudentFactory(), currency=wallet.currency)
    revenue = ledger.platform_account(kind=AccountKind.PLATFORM_REVENUE, currency=wallet.currency)
    with django_capture_on_commit_callbacks(execute=True):
        ledger.hold_capture(
            hold=hold,
            kind=TransferKind.LESSON_CHARGE,
            reference="lesson:77",
            credits=[ledger.Leg(payee.id, 2_000), ledger.Leg(revenue.id, 500)],
        )
    (line,) = logs.events("money_transfer")
    assert (line["kind"], line["amount"], line["reference"]) == ("lesson_charge", "25.00", "lesson:77")
    assert (line["debit_accounts"], line["credit_accounts"]) == ([wallet.id], sorted([payee.id, revenue.id]))


# --- secrets ------------------------------------------------------------------------------------


def test_redaction_masks_secret_keys_at_any_depth_and_secrets_in_text():
    event = redact(
        None,
        "info",
        {
            "event": "GET /x?token=abc123&page=2 with Authorization: Token 0123456789abcdef",
            "broker": "redis://:hunter22@redis:6379/0",
            "headers": {"Authorization": "Token 0123456789abcdef", "Accept": "*/*"},
            "items": [{"card_number": "4242424242424242"}, {"new_password": "pw"}],
            "amount": "12.50",
        },
    )
    assert event["event"] == f"GET /x?token={REDACTED}&page=2 with Authorization: Token {REDACTED}"
    assert event["broker"] == f"redis://:{REDACTED}@redis:6379/0"
    assert event["headers"] == {"Authorization": REDACTED, "Accept": "*/*"}
    assert event["items"] == [{"card_number": REDACTED}, {"new_password": REDACTED}]
    assert event["amount"] == "12.50"


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_no_secret_reaches_the_logs_of_a_run_that_handles_every_kind(logs, settings):
    """Login, token use, password change, reset mail and confirm, a card attached and charged, a
    websocket opened with `?token=`: the rendered output holds none of the secrets, and each HTTP
    request wrote exactly one line."""
    settings.RATE_LIMITS_ENABLED = False
    student = StudentFactory()
    logs.clear()  # factory_boy's own debug lines name the test password: only the run is checked
    login = APIClient().post("/api/v1/auth/token", {"email": student.email, "password": PASSWORD}, format="json")
    token = login.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me").status_code == 200
    new_password = "Another-Secret-Passphrase-71"
    changed = client.post("/api/v1/auth/password", {"current_password": PASSWORD, "new_password": new_password})
    assert changed.status_code == 204, changed.content
    card = client.post("/api/v1/wallet/payment-methods", {"token": "tok_mastercard"}, HTTP_IDEMPOTENCY_KEY="card-1")
    assert card.status_code == 201, card.content
    top_up = client.post("/api/v1/wallet/top-ups", {"amount": "25.00"}, HTTP_IDEMPOTENCY_KEY="top-up-1")
    assert top_up.status_code == 201, top_up.content
    assert APIClient().post("/api/v1/auth/password-reset", {"email": student.email}, format="json").status_code == 204
    reset_token = re.search(r"token:\s+(\S+)", mail.outbox[0].body).group(1)
    uid = re.search(r"uid:\s+(\S+)", mail.outbox[0].body).group(1)
    confirm = {"uid": uid, "token": reset_token, "new_password": "Yet-Another-Passphrase-93"}
    assert APIClient().post("/api/v1/auth/password-reset/confirm", confirm, format="json").status_code == 204
    socket_token = token_for(student)

    async def open_socket():
        communicator = WebsocketCommunicator(_asgi(), f"/ws/chat/?token={socket_token}")
        assert (await communicator.connect(timeout=3))[0]
        await communicator.send_json_to({"type": "ping"})
        assert await communicator.receive_json_from(timeout=3) == {"type": "pong"}
        await communicator.disconnect()

    async_to_sync(open_socket)()
    secrets = [PASSWORD, token, new_password, reset_token, confirm["new_password"], socket_token, "tok_mastercard"]
    assert [secret for secret in secrets if secret in logs.text] == []
    assert [line["path"] for line in logs.requests()] == [
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/auth/password",
        "/api/v1/wallet/payment-methods",
        "/api/v1/wallet/top-ups",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
    ]
    assert len(logs.events("money_transfer")) == 1  # the top-up


def _asgi():
    from wemaster.asgi import application

    return application


# --- websockets ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_websocket_logs_with_the_handshakes_request_id_and_its_user_and_echoes_the_id(logs, student):
    key = token_for(student)

    async def scenario():
        communicator = WebsocketCommunicator(
            _asgi(), f"/ws/chat/?token={key}", headers=[(b"x-request-id", b"socket-1")]
        )
        connected, _ = await communicator.connect(timeout=3)
        assert connected
        await communicator.disconnect()
        return communicator

    async_to_sync(scenario)()
    connected, disconnected = logs.events("websocket_connected"), logs.events("websocket_disconnected")
    assert [(line["request_id"], line["user_id"]) for line in connected + disconnected] == [
        ("socket-1", student.id),
        ("socket-1", student.id),
    ]
    assert key not in logs.text


@pytest.mark.django_db(transaction=True)
def test_the_websocket_handshake_answer_carries_the_request_id(student):
    key = token_for(student)

    async def handshake_headers():
        communicator = WebsocketCommunicator(_asgi(), f"/ws/chat/?token={key}", headers=[(b"x-request-id", b"ws-2")])
        await communicator.send_input({"type": "websocket.connect"})
        accepted = await communicator.receive_output(timeout=3)
        await communicator.disconnect()
        return accepted

    accepted = async_to_sync(handshake_headers)()
    assert accepted["type"] == "websocket.accept"
    assert (b"X-Request-ID", b"ws-2") in accepted["headers"]


# --- Celery: last, it starts a worker in this process -------------------------------------------


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_task_enqueued_by_a_request_logs_with_the_requests_id_in_the_worker(logs, settings):
    from celery.contrib.testing.worker import start_worker

    settings.RATE_LIMITS_ENABLED = False
    student = StudentFactory()
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=10):
        logs.attach()  # the worker's start configured logging again (settings.LOGGING), as a real one does
        response = APIClient().post(
            "/api/v1/auth/password-reset", {"email": student.email}, format="json", HTTP_X_REQUEST_ID="reset-7"
        )
        assert response.status_code == 204
        deadline = time.monotonic() + 15
        while not logs.events("task_succeeded") and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(mail.outbox) == 1
    (started,) = logs.events("task_started")
    (succeeded,) = logs.events("task_succeeded")
    (enqueued,) = logs.events("task_enqueued")
    assert started["task"] == "wemaster.accounts.tasks.password_reset_send"
    assert {started["request_id"], succeeded["request_id"], enqueued["request_id"]} == {"reset-7"}
    assert started["task_id"] == succeeded["task_id"] == enqueued["child_task_id"]
    (request,) = logs.requests()
    assert request["request_id"] == "reset-7"

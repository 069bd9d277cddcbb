"""Headless Chromium (Debian's package, driven by Playwright) against the live topology:
the API docs offline, the admin's refund action, and two users chatting on the console.
Screenshots go to test-artifacts/ (not committed)."""

import re
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.live.conftest import ARTIFACTS

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking switches Chromium keeps dialling Google's hosts,
# which this machine's closed network refuses. `launch()` gives every run a new profile.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


@pytest.fixture(scope="module")
def browser():
    """Checked before `live` starts the topology, so a missing browser skips at once."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (`apt-get install chromium`; .ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser, live):
    """`new_context()` -> (context, off_site): a browser context that refuses every request
    leaving this machine and lists the ones attempted."""
    contexts = []

    def make():
        context = browser.new_context(base_url=live.base_url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        off_site = []

        def guard(route):
            if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
                route.continue_()
            else:
                off_site.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        contexts.append(context)
        return context, off_site

    yield make
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_swagger_ui_renders_offline_and_an_authorized_try_it_out_of_me_returns_200(new_context, live):
    context, off_site = new_context()
    page = context.new_page()
    page.goto("/api/docs/")
    operation = page.locator(".opblock-get").filter(has=page.locator("[data-path='/api/v1/me']"))
    operation.wait_for()
    page.get_by_role("button", name="Authorize").first.click()
    token_auth = page.locator(".dialog-ux .auth-container").filter(has_text="tokenAuth")
    token_auth.locator("input").fill(f"Token {live.data['alice']['token']}")
    token_auth.get_by_role("button", name="Apply credentials").click()
    page.locator(".dialog-ux .close-modal").click()
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    operation.screenshot(path=str(ARTIFACTS / "swagger-me-try-it-out.png"))
    assert status.inner_text().strip() == "200"
    assert f'"email": "{live.data["alice"]["email"]}"' in operation.locator(".live-responses-table").inner_text()
    assert off_site == []


def test_staff_approves_a_refund_in_the_admin_and_the_student_gets_the_money(new_context, live):
    refund, alice = live.data["refund"], live.data["alice"]
    status, wallet_before = live.request("GET", "/api/v1/wallet", token=alice["token"])
    assert status == 200, wallet_before
    context, off_site = new_context()
    page = context.new_page()
    page.goto("/admin/")
    page.fill("#id_username", live.data["staff"]["email"])
    page.fill("#id_password", live.data["password"])
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    page.goto("/admin/lessons/refundrequest/?status__exact=pending")
    page.check(f"input[name=_selected_action][value='{refund['id']}']")
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    page.locator(".messagelist li", has_text="approved").wait_for()
    shot(page, "admin-refund-approved")
    assert "1 refund request(s) approved." in page.locator(".messagelist").inner_text()
    page.goto(f"/admin/lessons/refundrequest/{refund['id']}/change/")
    assert "Approved" in page.locator(".field-status").inner_text()

    _, wallet_after = live.request("GET", "/api/v1/wallet", token=alice["token"])
    expected = Decimal(wallet_before["balance"]) + Decimal(refund["amount"]) / 100
    assert (Decimal(wallet_after["balance"]), Decimal(wallet_after["available"])) == (expected, expected)
    # Staff see the same balance on the student's wallet in the admin.
    page.goto(f"/admin/wallet/wallet/?q={alice['email']}")
    shot(page, "admin-wallet-after-refund")
    assert page.locator("#result_list td.field-balance").inner_text() == f"{expected:.2f} {live.data['currency']}"
    assert off_site == []


def console_login(context, user: dict, password: str):
    page = context.new_page()
    page.goto("/console/chat/")
    page.fill("#email", user["email"])
    page.fill("#password", password)
    page.click("#login-button")
    page.locator("#connection-status", has_text="live").wait_for()
    return page


def test_two_users_chat_on_the_console_and_see_each_other_live(new_context, live):
    data = live.data
    pages, off_site = {}, []
    for name in ("alice", "bob"):
        context, attempted = new_context()
        off_site.append(attempted)
        pages[name] = console_login(context, data[name], data["password"])
    alice, bob = pages["alice"], pages["bob"]
    conversation = f"#conversations li[data-conversation='{data['conversation']}']"
    bob.click(conversation)
    bob.locator("#send-form").wait_for()

    bob.fill("#body", "Hi Alice, see you at five?")
    bob.click("#send-button")
    # Alice has the conversation closed: its unread badge counts the message, live.
    alice.locator(f"{conversation} .badge.unread", has_text="1").wait_for()
    alice.click(conversation)
    alice.locator("#messages li", has_text="Hi Alice, see you at five?").wait_for()
    alice.locator(f"{conversation} .badge.unread").wait_for(state="detached")

    alice.fill("#body", "Yes, five works.")
    alice.click("#send-button")
    bob.locator("#messages li", has_text="Yes, five works.").wait_for()

    # Typing frames are throttled (client and server): keep typing until Alice is told.
    typing = alice.locator("#typing", has_text="Bob Tutor is typing")
    deadline = time.monotonic() + 10
    while not typing.is_visible() and time.monotonic() < deadline:
        bob.type("#body", ".")
        alice.wait_for_timeout(250)
    assert typing.is_visible()
    bob.fill("#body", "")
    for name, page in pages.items():
        shot(page, f"console-{name}")
        assert page.locator("#messages li .body").all_inner_texts()[-2:] == [
            "Hi Alice, see you at five?",
            "Yes, five works.",
        ]
    # Alice's read pointer moved over REST: nothing is unread for her afterwards.
    _, unread = live.request("GET", "/api/v1/conversations/unread", token=data["alice"]["token"])
    assert unread["conversations"].get(str(data["conversation"]), 0) == 0
    assert off_site == [[], []]

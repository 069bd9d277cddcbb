"""Client addresses come from hops our trusted proxies wrote, never from what a client forged
(issue: 40 wrong passwords with a rotating X-Forwarded-For were all answered 400)."""

import pytest

from wemaster.core.client_ip import client_ip_from_meta

LOGIN = "/api/v1/auth/token"


def _meta(remote_addr, forwarded=None):
    meta = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return meta


@pytest.mark.parametrize(
    "trusted, meta, expected",
    [
        # No trusted proxies (the default): the header is ignored, whatever it says.
        ([], _meta("198.51.100.7", "1.2.3.4"), "198.51.100.7"),
        ([], _meta("198.51.100.7", "1.2.3.4, 127.0.0.1"), "198.51.100.7"),
        # A peer that is not a trusted proxy cannot speak for anyone else.
        (["127.0.0.1"], _meta("198.51.100.7", "1.2.3.4"), "198.51.100.7"),
        # Our nginx: it sets the header to the address it saw.
        (["127.0.0.1"], _meta("127.0.0.1", "203.0.113.9"), "203.0.113.9"),
        # A forged left part is skipped: the right-most address no trusted proxy vouches past.
        (["127.0.0.1", "10.0.0.0/8"], _meta("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3"), "203.0.113.9"),
        (["10.0.0.0/8"], _meta("10.0.0.2", "6.6.6.6, 10.9.9.9, 203.0.113.9"), "203.0.113.9"),
        # Every hop trusted: the left-most one is the client (a request from the proxy host).
        (["127.0.0.1"], _meta("127.0.0.1", "127.0.0.1"), "127.0.0.1"),
        (["127.0.0.1"], _meta("127.0.0.1"), "127.0.0.1"),
        # Malformed values end the walk at the last address that was established.
        (["127.0.0.1"], _meta("127.0.0.1", "not-an-ip"), "127.0.0.1"),
        (["127.0.0.1"], _meta("127.0.0.1", "6.6.6.6, <script>, 203.0.113.9"), "203.0.113.9"),
        (["127.0.0.1"], _meta("127.0.0.1", ",,,"), "127.0.0.1"),
        (["127.0.0.1"], _meta("127.0.0.1", "203.0.113.9\x00"), "127.0.0.1"),
        (["127.0.0.1"], _meta("127.0.0.1", "1.2.3.4, " * 200 + "203.0.113.9"), "127.0.0.1"),  # too long
        # Ports and IPv6 forms.
        (["127.0.0.1"], _meta("127.0.0.1", "203.0.113.9:51000"), "203.0.113.9"),
        (["::1"], _meta("::1", "[2001:db8::7]:443"), "2001:db8::7"),
        (["2001:db8:ffff::/48"], _meta("2001:db8:ffff::1", "2001:db8::7"), "2001:db8::7"),
        (["127.0.0.1"], _meta("::ffff:127.0.0.1", "203.0.113.9"), "203.0.113.9"),
        # No peer address at all (a test client, a unix socket): nothing to believe.
        (["127.0.0.1"], {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, ""),
    ],
)
def test_client_ip(settings, trusted, meta, expected):
    settings.TRUSTED_PROXIES = trusted
    assert client_ip_from_meta(meta) == expected


def _login_statuses(api_client, count, *, remote_addr, forwarded):
    """`count` wrong passwords, each for a different address and with a different forged header
    (so only the per-client limit applies, not a per-account one)."""
    statuses = []
    for attempt in range(count):
        response = api_client.post(
            LOGIN,
            {"email": f"nobody{attempt}@example.com", "password": "wrong-password"},
            REMOTE_ADDR=remote_addr,
            HTTP_X_FORWARDED_FOR=forwarded(attempt),
        )
        statuses.append(response.status_code)
    return statuses


def _login_rate(settings, rate):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login": rate},
    }


@pytest.mark.django_db
def test_forged_forwarded_for_from_an_untrusted_peer_does_not_reset_the_login_limit(api_client, settings):
    settings.TRUSTED_PROXIES = []
    _login_rate(settings, "30/min")
    statuses = _login_statuses(
        api_client, 40, remote_addr="198.51.100.7", forwarded=lambda attempt: f"10.0.{attempt}.1"
    )
    assert statuses == [400] * 30 + [429] * 10


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_right_most_untrusted_address_is_the_client(api_client, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    _login_rate(settings, "30/min")
    # The client forges a new left part each time; our proxy appended the client's real address.
    statuses = _login_statuses(
        api_client,
        40,
        remote_addr="10.0.0.2",
        forwarded=lambda attempt: f"192.0.2.{attempt}, 203.0.113.9",
    )
    assert statuses == [400] * 30 + [429] * 10
    # Another client behind the same proxy has a budget of its own.
    other = _login_statuses(api_client, 1, remote_addr="10.0.0.2", forwarded=lambda attempt: "203.0.113.10")
    assert other == [400]

"""The client's address, the one every IP-based decision uses (throttles, concurrency limits, logs).

`X-Forwarded-For` is believed only as far as our own proxies wrote it. Each proxy appends the
address it received the request from, so the header reads `client, proxy1, proxy2` and the peer
(`REMOTE_ADDR`) is the last hop. Walking from the right, every hop that is one of
`TRUSTED_PROXIES` (addresses or CIDR networks, from the environment) was added by a proxy we run;
the first address that is not is the client. Everything to its left was written by the client
itself and may be forged. With no trusted proxies (the default) the header is ignored and the
peer is the client, so a client talking to the workers directly cannot choose its identity.

A malformed hop (not an IP address) ends the walk at the last address that was established:
what lies left of it cannot be trusted either.

python-ipware and django-ipware were considered: they look for the left-most public address in a
list of headers (any client can send `Client-IP`), and match trusted proxies by string prefix, not
network; trusting only hops our proxies wrote is the point here, so it is written out below.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# A header longer than this is not one our proxies wrote (each adds one short address).
MAX_FORWARDED_FOR_LENGTH = 1024


@lru_cache(maxsize=8)
def trusted_networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    """`TRUSTED_PROXIES` parsed (cached per value; settings are validated at start-up)."""
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _address(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51000"
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # An IPv4 client seen through an IPv6 socket (::ffff:203.0.113.7) is that IPv4 client.
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def client_ip_from_meta(meta: dict) -> str:
    """The client address for a WSGI environ / `request.META` (see the module docstring).
    Empty only when the server gave no peer address at all."""
    peer = _address(meta.get("REMOTE_ADDR") or "")
    if peer is None:
        return (meta.get("REMOTE_ADDR") or "").strip()
    networks = trusted_networks(tuple(settings.TRUSTED_PROXIES))
    client = peer
    forwarded = meta.get("HTTP_X_FORWARDED_FOR") or ""
    if _trusted(peer, networks) and forwarded and len(forwarded) <= MAX_FORWARDED_FOR_LENGTH:
        for hop in reversed(forwarded.split(",")):
            address = _address(hop)
            if address is None:
                break
            client = address
            if not _trusted(address, networks):
                break
    return str(client)


def client_ip(request) -> str:
    """The client address of a Django or DRF request, computed once per request (kept on the
    Django request, which a DRF request wraps)."""
    request = getattr(request, "_request", request)
    cached = getattr(request, "_wemaster_client_ip", None)
    if cached is None:
        cached = request._wemaster_client_ip = client_ip_from_meta(request.META)
    return cached

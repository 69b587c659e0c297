"""Who is signing in, for login throttling: the client address (behind trusted proxies only) and the device.

``X-Forwarded-For`` is read only when the TCP peer is one of HELPDESK_TRUSTED_PROXIES (CIDR list); the
client is then the right-most address that is not a trusted proxy, so a client cannot choose its own
address by sending the header itself. Everything else uses the peer address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from aiohttp import web

DEVICE_COOKIE = "hd_device"
DEVICE_MAX_AGE = 365 * 24 * 3600

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def parse_networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Sequence[str]) -> str:
    """The client's address: the peer, or what trusted proxies say the peer was (pure)."""
    peer = peer or "unknown"
    networks = parse_networks(tuple(trusted))
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for line in forwarded_for for h in line.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return hop[:64]  # garbage added by a client before the first proxy: still one key
    return hops[0][:64] if hops else peer


def request_client(request: web.Request, trusted: Sequence[str]) -> str:
    return client_address(request.remote, request.headers.getall("X-Forwarded-For", []), trusted)


def set_device_cookie(response: web.StreamResponse, token: str, *, secure: bool) -> None:
    response.set_cookie(DEVICE_COOKIE, token, httponly=True, samesite="Strict", secure=secure, path="/login",
                        max_age=DEVICE_MAX_AGE)

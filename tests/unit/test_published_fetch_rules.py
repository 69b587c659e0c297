"""The fetcher's pure rules: addresses, the allow-list, rate limits, the cache."""

from __future__ import annotations

import socket

import pytest

from helpdesk.published.fetch import (
    Fetched,
    FetchPolicy,
    FetchRefused,
    RateLimiter,
    TtlCache,
    _PinnedResolver,
    host_port,
    is_public_address,
)


class Tick:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1",
                                     "224.0.0.1", "255.255.255.255", "not-an-ip"])
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["37.59.183.93", "2001:41d0:8:6000::1", "8.8.8.8"])
def test_public_addresses(address: str) -> None:
    assert is_public_address(address)


def test_default_allow_list_and_trusted_hosts() -> None:
    p = FetchPolicy.build(api_url="http://127.0.0.1:8001/api/1", csw_url="https://geobretagne.fr/geonetwork/srv/fre/csw")
    assert p.is_allowed("www.data.gouv.fr") and p.is_allowed("static.data.gouv.fr") and p.is_allowed("geobretagne.fr")
    assert not p.is_allowed("evil.example") and not p.is_allowed("data.gouv.fr.evil.example")
    assert p.is_trusted("127.0.0.1", 8001) and not p.is_trusted("127.0.0.1", 8002)
    assert p.is_trusted("geobretagne.fr", 443)


def test_configured_allow_list_with_subdomains() -> None:
    p = FetchPolicy.build(fetch_hosts=[".example.fr", "Files.Test."])
    assert p.is_allowed("a.example.fr") and p.is_allowed("files.test")
    assert not p.is_allowed("example.fr.evil") and not p.is_allowed("www.data.gouv.fr")


def test_host_port() -> None:
    assert host_port("https://WWW.data.gouv.fr./x") == ("www.data.gouv.fr", 443)
    assert host_port("http://127.0.0.1:8080/") == ("127.0.0.1", 8080)
    assert host_port("http://x:99999/") is None


def test_rate_limits_per_ticket_and_global() -> None:
    tick = Tick()
    limits = RateLimiter(per_ticket=2, global_per_minute=3, monotonic=tick)
    limits.take("T1")
    limits.take("T1")
    with pytest.raises(FetchRefused) as per_ticket:
        limits.take("T1")
    assert per_ticket.value.code == "rate-limited" and "ticket" in per_ticket.value.reason
    limits.take("T2")
    with pytest.raises(FetchRefused) as overall:
        limits.take("T3")
    assert "globale" in overall.value.reason
    tick.now += 61  # the global window slides, the ticket's hour does not
    limits.take("T3")
    with pytest.raises(FetchRefused):
        limits.take("T1")
    tick.now += 3600
    limits.take("T1")


def test_cache_expires_and_stays_bounded() -> None:
    tick = Tick()
    cache = TtlCache(ttl=3600, max_entries=2, max_bytes=100, monotonic=tick)
    a = Fetched("u", 200, "text/csv", b"a" * 10)
    cache.put(("a", ""), a)
    assert cache.get(("a", "")) == a
    tick.now += 3601
    assert cache.get(("a", "")) is None
    for key in "bcd":
        cache.put((key, ""), a)
    assert cache.get(("b", "")) is None and cache.get(("d", "")) == a  # least recently used went first
    cache.put(("big", ""), Fetched("u", 200, "x", b"x" * 60))  # over a quarter of the budget: not kept
    assert cache.get(("big", "")) is None


async def test_the_pinned_resolver_answers_only_for_its_host() -> None:
    pinned = _PinnedResolver("files.example.fr", ["37.59.183.93", "2001:41d0:8:6000::1"])
    answers = await pinned.resolve("files.example.fr.", 443)
    assert [(a["host"], a["family"]) for a in answers] == [("37.59.183.93", socket.AF_INET),
                                                           ("2001:41d0:8:6000::1", socket.AF_INET6)]
    with pytest.raises(OSError):
        await pinned.resolve("other.example.fr", 443)

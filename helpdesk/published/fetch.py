"""The one way published data is fetched: an allow-list, no private addresses, caps, rate limits, a cache.

Rules, checked for every hop (redirects are followed by hand, each target checked again):

- the scheme is http or https;
- the host (with its port) of ``HELPDESK_DATAGOUV_API_URL`` or ``HELPDESK_CSW_URL`` is *trusted as
  configured*: no further check, so tests and private deployments can point them at 127.0.0.1;
- any other host must be on the allow-list (``HELPDESK_FETCH_HOSTS``; an entry ``.example.fr`` also allows
  its subdomains); its name is resolved once, every address must be public (no private, loopback,
  link-local, shared, reserved or multicast address), and the connection goes to exactly those
  addresses (a pinned resolver: no second lookup, no DNS rebinding);
- a timeout per hop, a size cap (the file checks' limit; a larger body is cut off and refused);
- a per-ticket and an overall rate limit (sliding windows);
- answers (2xx, 404, 410) are cached for an hour.

The cache and the rate limits live in the process: the data is public and fetched again at no harm after a
restart, the limits protect the portals from *this* process (one ``helpdesk serve`` per site), and no
table, migration or cross-branch schema change is needed. Memory is bounded (entries and bytes).

Every refusal or failure is a ``FetchError`` whose ``reason`` is French: callers show it as « non vérifié ».
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from helpdesk.published.fetch_limits import (  # re-exported: callers import the fetcher's vocabulary from here
    Fetched,
    FetchError,
    FetchFailed,
    FetchRefused,
    RateLimiter,
    TtlCache,
)

DEFAULT_API_URL = "https://www.data.gouv.fr/api/1"
DATAGOUV_FETCH_HOSTS = ("www.data.gouv.fr", "data.gouv.fr", "static.data.gouv.fr")
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CACHED_STATUSES = frozenset({200, 203, 404, 410})
__all__ = ["Fetched", "FetchError", "FetchFailed", "FetchRefused", "Fetcher", "FetchPolicy", "RateLimiter",
           "SafeFetcher", "TtlCache", "host_port", "is_public_address", "size_fr", "system_resolve"]
USER_AGENT = "CRAIG-helpdesk/0.1 (assistance aux collectivites; published-data check)"


class Fetcher(Protocol):
    async def get(self, url: str, *, ticket: str | None = None, accept: str | None = None,
                  max_bytes: int | None = None) -> Fetched:
        """The answer to a GET (any status), or FetchError."""
        ...


Resolve = Callable[[str, int], Awaitable[list[str]]]


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def host_port(url: str) -> tuple[str, int] | None:
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        return None
    return (host, port) if host else None


def is_public_address(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified or ip.is_link_local)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allowed_hosts: frozenset[str]
    trusted: frozenset[tuple[str, int]] = frozenset()
    enabled: bool = True
    timeout: float = 10.0
    max_bytes: int = 30 * 1024 * 1024
    max_redirects: int = 5
    per_ticket: int = 40  # requests per ticket per hour
    global_per_minute: int = 120
    cache_seconds: float = 3600.0
    cache_entries: int = 256
    cache_bytes: int = 64 * 1024 * 1024

    @classmethod
    def build(cls, *, api_url: str = DEFAULT_API_URL, csw_url: str | None = None,
              fetch_hosts: Iterable[str] | None = None, **limits: Any) -> FetchPolicy:
        """The default allow-list is data.gouv.fr's hosts plus the catalogue's host."""
        trusted = {hp for hp in (host_port(api_url), host_port(csw_url or "")) if hp}
        if fetch_hosts is None:
            hosts = set(DATAGOUV_FETCH_HOSTS)
            if csw_url and (hp := host_port(csw_url)):
                hosts.add(hp[0])
        else:
            hosts = {h.strip().lower().rstrip(".") for h in fetch_hosts if h.strip()}
        return cls(allowed_hosts=frozenset(hosts), trusted=frozenset(trusted), **limits)

    def is_trusted(self, host: str, port: int) -> bool:
        return (host, port) in self.trusted

    def is_allowed(self, host: str) -> bool:
        for entry in self.allowed_hosts:
            if entry.startswith("*."):
                entry = entry[1:]
            if host == entry or (entry.startswith(".") and host.endswith(entry)):
                return True
        return False


class _PinnedResolver(AbstractResolver):
    """Answers with the addresses we already resolved and checked, for that one host only."""

    def __init__(self, host: str, addresses: list[str]) -> None:
        self.host, self.addresses = host, addresses

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        if host.lower().rstrip(".") != self.host:
            raise OSError(f"unexpected host {host}")
        return [ResolveResult(hostname=host, host=a, port=port,
                              family=socket.AF_INET6 if ":" in a else socket.AF_INET,
                              proto=0, flags=socket.AI_NUMERICHOST) for a in self.addresses]

    async def close(self) -> None:
        return None


@dataclass
class SafeFetcher:
    """The Fetcher of the service: every rule of the module docstring."""

    policy: FetchPolicy
    resolve: Resolve = system_resolve
    monotonic: Callable[[], float] = time.monotonic
    max_concurrent: int = 4
    limiter: RateLimiter = field(init=False)
    cache: TtlCache = field(init=False)
    _slots: asyncio.Semaphore | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        p = self.policy
        self.limiter = RateLimiter(p.per_ticket, p.global_per_minute, self.monotonic)
        self.cache = TtlCache(p.cache_seconds, p.cache_entries, p.cache_bytes, self.monotonic)

    async def get(self, url: str, *, ticket: str | None = None, accept: str | None = None,
                  max_bytes: int | None = None) -> Fetched:
        if not self.policy.enabled:
            raise FetchRefused("disabled", "la vérification en ligne est désactivée (réseau coupé)")
        key = (url, accept or "")
        if (hit := self.cache.get(key)) is not None:
            return Fetched(hit.url, hit.status, hit.content_type, hit.body, from_cache=True)
        cap = min(max_bytes or self.policy.max_bytes, self.policy.max_bytes)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_concurrent)
        async with self._slots:
            current = url
            for _ in range(self.policy.max_redirects + 1):
                self.limiter.take(ticket)
                status, location, result = await self._hop(current, accept, cap)
                if location is None:
                    assert result is not None
                    if result.status in CACHED_STATUSES:
                        self.cache.put(key, result)
                    return result
                current = urljoin(current, location)
            raise FetchRefused("too-many-redirects", f"plus de {self.policy.max_redirects} redirections")

    async def _hop(self, url: str, accept: str | None, cap: int) -> tuple[int, str | None, Fetched | None]:
        host, port, addresses = await self._check(url)
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout)
        connector = aiohttp.TCPConnector(resolver=_PinnedResolver(host, addresses), use_dns_cache=False,
                                         limit=1, force_close=True)
        headers = {"User-Agent": USER_AGENT}
        if accept:
            headers["Accept"] = accept
        try:
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session, \
                    session.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status in REDIRECTS and "Location" in resp.headers:
                    return resp.status, resp.headers["Location"], None
                declared = resp.content_length
                if declared is not None and declared > cap:
                    raise _too_large(cap)
                body = bytearray()
                async for chunk in resp.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > cap:
                        raise _too_large(cap)
                return resp.status, None, Fetched(str(resp.url), resp.status, resp.content_type, bytes(body))
        except FetchError:
            raise
        except TimeoutError as exc:
            raise FetchFailed("timeout", f"pas de réponse de {host} en {self.policy.timeout:g} s") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise FetchFailed("unreachable", f"{host} injoignable ({type(exc).__name__})") from exc

    async def _check(self, url: str) -> tuple[str, int, list[str]]:
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError:
            scheme = ""
        hp = host_port(url)
        if scheme not in ("http", "https") or hp is None:
            raise FetchRefused("bad-url", "adresse non prise en charge (http ou https seulement)")
        host, port = hp
        trusted = self.policy.is_trusted(host, port)
        if not trusted and not self.policy.is_allowed(host):
            raise FetchRefused("host-not-allowed", f"le site {host} n'est pas dans la liste des sites consultés")
        if _is_ip_literal(host):
            addresses = [host.strip("[]")]
        else:
            try:
                addresses = await asyncio.wait_for(self.resolve(host, port), self.policy.timeout)
            except TimeoutError as exc:
                raise FetchFailed("timeout", f"nom {host} non résolu à temps") from exc
            except OSError as exc:
                raise FetchFailed("unreachable", f"nom {host} introuvable") from exc
        if not addresses:
            raise FetchFailed("unreachable", f"nom {host} introuvable")
        if not trusted and not all(is_public_address(a) for a in addresses):
            raise FetchRefused("private-address", f"{host} pointe vers une adresse privée : refusé")
        return host, port, addresses


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def size_fr(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} Mo" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} ko"


def _too_large(cap: int) -> FetchRefused:
    return FetchRefused("too-large", f"fichier de plus de {size_fr(cap)} : non téléchargé")

"""Login throttling on both databases: atomic under concurrency, a slow-down not a lock, known devices still in."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from helpdesk.app.ratelimit import Throttled
from helpdesk.app.staff.sessions import AuthService
from helpdesk.app.staff.throttle import (
    FREE_PER_ACCOUNT,
    FREE_PER_CLIENT,
    LoginThrottle,
    account_key,
    wait_after,
)
from helpdesk.bootstrap import build
from helpdesk.config import Settings
from helpdesk.db.engine import Database
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from helpdesk.web.throttle import DEVICE_COOKIE
from tests.support.web import PASSWORD, add_staff, csrf_of, web_client


async def _attempt(auth: AuthService, password: str, client: str = "203.0.113.9",
                   device: str | None = None) -> str:
    try:
        result = await auth.login("agent@craig.fr", password, client, device)
    except Throttled:
        return "throttled"
    return "refused" if result is None else "signed-in"


async def test_concurrent_attempts_never_pass_more_than_the_limit(clock: FixedClock, services: Services) -> None:
    await add_staff(services)
    auth = AuthService(services.db, clock, services.users)
    outcomes = await asyncio.gather(*(_attempt(auth, "mauvais-mot-de-passe") for _ in range(30)))
    assert outcomes.count("refused") == FREE_PER_ACCOUNT  # checked passwords: exactly the free attempts
    assert outcomes.count("throttled") == 30 - FREE_PER_ACCOUNT


async def test_slow_down_doubles_and_success_clears_it(clock: FixedClock, services: Services) -> None:
    await add_staff(services)
    auth = AuthService(services.db, clock, services.users)
    for _ in range(FREE_PER_ACCOUNT):
        assert await _attempt(auth, "faux") == "refused"
    with pytest.raises(Throttled) as info:
        await auth.login("agent@craig.fr", PASSWORD, "203.0.113.9")
    assert info.value.retry_after == 1
    clock.advance(seconds=1)
    assert await _attempt(auth, "faux") == "refused"  # allowed again after the wait, which doubles
    clock.advance(seconds=1)
    assert await _attempt(auth, PASSWORD) == "throttled"
    clock.advance(seconds=1)
    assert await _attempt(auth, PASSWORD) == "signed-in"
    assert await _attempt(auth, "faux") == "refused"  # the success cleared the account's counter


def test_wait_grows_exponentially_up_to_fifteen_minutes() -> None:
    assert [wait_after(n, 5).total_seconds() for n in range(3, 9)] == [0, 0, 1, 2, 4, 8]
    assert wait_after(10_000, 5) == timedelta(minutes=15)


async def test_a_stranger_cannot_shut_out_a_known_device(clock: FixedClock, services: Services) -> None:
    await add_staff(services)
    auth = AuthService(services.db, clock, services.users)
    result = await auth.login("agent@craig.fr", PASSWORD, "192.0.2.1")
    assert result is not None
    device = await auth.remember_device(result[1].id)
    for _ in range(40):  # a stranger hammers the account from elsewhere
        await _attempt(auth, "devine", client="198.51.100.7")
    assert await _attempt(auth, PASSWORD, client="198.51.100.8") == "throttled"
    assert await _attempt(auth, PASSWORD, client="192.0.2.1", device=device) == "signed-in"
    assert await _attempt(auth, PASSWORD, device="cookie-inconnu") == "throttled"
    # The device cookie of another account opens nothing here.
    other = await auth.remember_device((await auth.login("admin@craig.fr", PASSWORD, "192.0.2.2") or ("", None))[1].id)
    assert await _attempt(auth, PASSWORD, device=other) == "throttled"


async def test_per_client_limit_counts_every_account_from_one_address(clock: FixedClock, services: Services) -> None:
    await add_staff(services)
    auth = AuthService(services.db, clock, services.users)
    for i in range(FREE_PER_CLIENT):
        assert await auth.login(f"inconnu{i}@x.fr", "faux", "203.0.113.50") is None
    with pytest.raises(Throttled):
        await auth.login("agent@craig.fr", PASSWORD, "203.0.113.50")
    assert await auth.login("agent@craig.fr", PASSWORD, "203.0.113.51") is not None


async def test_compare_and_set_refuses_a_stale_count(db: Database, clock: FixedClock) -> None:
    throttle = LoginThrottle(db, clock)
    key = account_key("x@y.fr")
    await asyncio.gather(*(throttle.acquire(key, 100) for _ in range(20)))
    from sqlalchemy import select

    from helpdesk.db.tables_login import LoginThrottle as Row

    async with db.transaction() as s:
        assert (await s.scalars(select(Row.attempts).where(Row.key == key))).one() == 20  # no lost update


async def test_web_login_behind_a_trusted_proxy(db: Database, clock: FixedClock) -> None:
    settings = Settings(database_url=db.url, public_url="http://127.0.0.1", smtp_enabled=False,
                        trusted_proxies="127.0.0.1/32")
    services = build(settings, clock=clock)
    await add_staff(services)
    async with web_client(services) as client:
        token = csrf_of(await (await client.get("/login")).text())
        form = {"email": "agent@craig.fr", "password": PASSWORD, "csrf_token": token}
        resp = await client.post("/login", data=form, allow_redirects=False,
                                 headers={"X-Forwarded-For": "192.0.2.10"})
        assert resp.status == 303 and DEVICE_COOKIE in resp.cookies
        device = resp.cookies[DEVICE_COOKIE].value
        assert "Path=/login" in resp.headers.getall("Set-Cookie")[-1]
        client.session.cookie_jar.clear()
        # Thirty failures from one client behind the proxy slow that client down, not the others.
        for i in range(FREE_PER_CLIENT):
            token = csrf_of(await (await client.get("/login")).text())
            r = await client.post("/login", data={"email": f"n{i}@x.fr", "password": "x", "csrf_token": token},
                                  headers={"X-Forwarded-For": "198.51.100.66"})
            assert r.status == 401
        token = csrf_of(await (await client.get("/login")).text())
        blocked = await client.post("/login", data={"email": "z@x.fr", "password": "x", "csrf_token": token},
                                    headers={"X-Forwarded-For": "198.51.100.66"})
        assert blocked.status == 429 and int(blocked.headers["Retry-After"]) >= 1
        # A client claiming another address itself is not believed past the proxy's own entry.
        spoofed = await client.post("/login", data={"email": "z@x.fr", "password": "x", "csrf_token": token},
                                    headers={"X-Forwarded-For": "10.9.9.9, 198.51.100.66"})
        assert spoofed.status == 429
        other = await client.post("/login", data={"email": "z@x.fr", "password": "x", "csrf_token": token},
                                  headers={"X-Forwarded-For": "192.0.2.10"})
        assert other.status == 401
        # The staff member's browser, known from its earlier sign-in, still gets in during an attack.
        for _ in range(20):
            await client.post("/login", data={"email": "agent@craig.fr", "password": "x", "csrf_token": token},
                              headers={"X-Forwarded-For": "203.0.113.200"})
        client.session.cookie_jar.update_cookies({DEVICE_COOKIE: device})
        token = csrf_of(await (await client.get("/login")).text())
        ok = await client.post("/login", data={**form, "csrf_token": token}, allow_redirects=False,
                               headers={"X-Forwarded-For": "192.0.2.10"})
        assert ok.status == 303
    await services.db.dispose()

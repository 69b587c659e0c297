"""/healthz, /readyz and /metrics through aiohttp's test client, on both backends."""

from __future__ import annotations

from aiohttp.test_utils import TestClient, TestServer

from helpdesk.app.intake.messages import InboundMessage
from helpdesk.bootstrap import build
from helpdesk.config import load_settings
from helpdesk.db.engine import Database
from helpdesk.domain.values import Channel
from helpdesk.ports import FixedClock
from helpdesk.web.app import make_app


async def test_health_ready_and_metrics(db: Database, clock: FixedClock) -> None:
    services = build(load_settings(database_url=db.url), clock=clock)
    await services.intake.receive(
        InboundMessage(channel=Channel.EMAIL, external_id="<m@x>", sender_email="a@b.fr", visible_text="q")
    )
    async with TestClient(TestServer(make_app(services))) as client:
        assert (await client.get("/healthz")).status == 200
        ready = await client.get("/readyz")
        assert ready.status == 200, await ready.text()
        text = await (await client.get("/metrics")).text()
        assert 'helpdesk_tickets{status="new"} 1.0' in text
        assert 'helpdesk_messages_received_total{channel="email",outcome="created"}' in text
        assert "helpdesk_http_request_seconds_bucket" in text
    await services.db.dispose()


async def test_readyz_says_503_when_the_database_is_down(clock: FixedClock) -> None:
    services = build(load_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"), clock=clock)
    async with TestClient(TestServer(make_app(services))) as client:
        res = await client.get("/readyz")
        assert res.status == 503
        assert "database unreachable" in (await res.json())["problems"]
    await services.db.dispose()


async def test_storage_failure_is_503_not_500(db: Database, clock: FixedClock) -> None:
    services = build(load_settings(database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none"), clock=clock)
    async with TestClient(TestServer(make_app(services))) as client:
        res = await client.get("/metrics")
        assert res.status == 503 and res.headers["Retry-After"] == "30"
    await services.db.dispose()

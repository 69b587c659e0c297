"""Stop PostgreSQL during traffic: intake fails as temporary, the web answers 503, and the service
recovers by itself when the database returns (a private server the test owns)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from helpdesk.app.intake.messages import InboundMessage
from helpdesk.bootstrap import build
from helpdesk.config import load_settings
from helpdesk.db import migrate
from helpdesk.domain.errors import StorageUnavailable
from helpdesk.domain.values import Channel, IntakeAction
from helpdesk.web.app import make_app
from tests.support.pgserver import PrivatePostgres

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PrivatePostgres.available(), reason="no PostgreSQL server binaries on this machine"),
]


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    pg = PrivatePostgres()
    pg.start()
    try:
        yield pg
    finally:
        pg.destroy()


def mail(i: int) -> InboundMessage:
    return InboundMessage(channel=Channel.EMAIL, external_id=f"<{i}@x>", sender_email=f"p{i}@x.fr", visible_text="?")


async def test_outage_is_temporary_and_recovery_is_automatic(private_pg: PrivatePostgres) -> None:
    await asyncio.to_thread(migrate.upgrade, private_pg.url)
    services = build(load_settings(database_url=private_pg.url))
    async with TestClient(TestServer(make_app(services))) as client:
        assert (await services.intake.receive(mail(1))).action is IntakeAction.CREATED
        assert (await client.get("/readyz")).status == 200

        await asyncio.to_thread(private_pg.stop, "immediate")
        with pytest.raises(StorageUnavailable):
            await services.intake.receive(mail(2))
        assert (await client.get("/readyz")).status == 503
        assert (await client.get("/metrics")).status == 503
        assert (await client.get("/healthz")).status == 200  # alive, just not ready

        await asyncio.to_thread(private_pg.start)
        # No restart of the service: the pool reconnects by itself.
        assert (await services.intake.receive(mail(2))).action is IntakeAction.CREATED
        assert (await client.get("/readyz")).status == 200
        assert (await services.intake.receive(mail(1))).action is IntakeAction.DUPLICATE
    await services.db.dispose()

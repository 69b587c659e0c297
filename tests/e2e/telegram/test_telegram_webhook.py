"""Webhook mode on our aiohttp server, recovery of stored updates, and the starter `helpdesk serve` runs."""

from __future__ import annotations

import html
import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer

from channels.telegram.bot import derived_secret
from helpdesk.app.chat.service import ChatService
from helpdesk.bootstrap import Edges, build, start_telegram
from helpdesk.config import load_settings
from helpdesk.db.engine import Database
from helpdesk.db.tables_telegram import TelegramUpdate
from helpdesk.domain.errors import StorageUnavailable
from helpdesk.ports import FixedClock
from helpdesk.web.app import make_app
from tests.e2e.telegram.fake_api import FakeBotApi
from tests.e2e.telegram.harness import CHAT, Harness, make_harness

HOOK = "https://assistance.craig.fr/hooks/telegram"
SECRET = "s3cret-Token_42"


async def update_status(h: Harness, update_id: int) -> tuple[str, int]:
    async with h.services.db.transaction() as s:
        row = await s.get(TelegramUpdate, update_id)
        assert row is not None
        return row.status, row.attempts


async def test_webhook_checks_the_secret_token_and_ignores_repeats(db: Database, api: FakeBotApi,
                                                                   clock: FixedClock) -> None:
    h = await make_harness(db.url, api, clock, telegram_webhook_url=HOOK, telegram_webhook_secret=SECRET)
    try:
        assert api.webhook is not None
        assert api.webhook["url"] == HOOK and api.webhook["secret_token"] == SECRET
        assert not any(m == "getUpdates" for m, _ in api.calls)
        update = {"update_id": 9001, **api.text(CHAT, "Comment publier notre budget ?")}
        async with TestClient(TestServer(make_app(h.services, webhooks=h.channel.webhooks))) as client:
            refused = await client.post("/hooks/telegram", json=update)
            assert refused.status == 403
            wrong = await client.post("/hooks/telegram", json=update,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
            assert wrong.status == 403
            assert api.sent(CHAT) == []
            ok = await client.post("/hooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert ok.status == 200
            sent = await api.wait_sent(CHAT, 1)
            assert "Voici ce que j'ai trouvé" in sent[0]["text"]
            again = await client.post("/hooks/telegram", json=update,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert again.status == 200
            bad = await client.post("/hooks/telegram", data=b"{not json",
                                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
            assert bad.status == 400
            await h.idle()
            assert len(api.sent(CHAT)) == 1
            unknown = await client.post("/hooks/nobody", json=update)
            assert unknown.status == 404
    finally:
        await h.close()


async def test_an_update_stored_but_not_processed_is_processed_at_start(db: Database, api: FakeBotApi,
                                                                        clock: FixedClock) -> None:
    update = {"update_id": 7001, **api.text(CHAT, "/start")}
    assert await ChatService(db, clock).record_update(7001, CHAT, update)  # stored, then the process died
    h = await make_harness(db.url, api, clock)
    try:
        sent = await api.wait_sent(CHAT, 1)
        assert "Bonjour" in sent[0]["text"]
        await h.idle()
        assert await update_status(h, 7001) == ("done", 1)
    finally:
        await h.close()


async def test_without_a_token_the_channel_is_off_and_says_so(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(database_url=db.url)
    services = build(settings)
    try:
        with caplog.at_level(logging.INFO):
            assert await start_telegram(Edges(services, settings)) is None
        assert "Telegram channel off: HELPDESK_TELEGRAM_TOKEN is not set" in caplog.text
        assert "telegram" not in services.outbox.senders
    finally:
        await services.db.dispose()


async def test_the_starter_answers_from_the_published_faq(db: Database, api: FakeBotApi, clock: FixedClock) -> None:
    from helpdesk.app.faq.sync import bundled_kb_dir

    settings = load_settings(database_url=db.url, telegram_token=api.token, telegram_base_url=api.base_url)
    services = build(settings, clock=clock)
    edges = Edges(services, settings)
    await services.kb_store.import_dir(bundled_kb_dir())
    kb = await services.kb_store.knowledge_base()
    entry = next(e for e in await services.kb_store.published()
                 if e.questions and [s.id for s in kb.search(e.questions[0], limit=3)][:1] == [e.id])
    stop = await start_telegram(edges)
    assert stop is not None
    try:
        api.push(api.text(CHAT, entry.questions[0]))
        sent = await api.wait_sent(CHAT, 1)
        assert html.escape(entry.title, quote=False) in sent[0]["text"]
        assert f"/faq/{entry.id}" in sent[0]["text"]
    finally:
        await stop()
        await services.db.dispose()


async def test_storage_down_answers_503_so_telegram_retries(db: Database, api: FakeBotApi, clock: FixedClock,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    h = await make_harness(db.url, api, clock, telegram_webhook_url=HOOK, telegram_webhook_secret=SECRET)
    try:
        async def down(*_: object) -> bool:
            raise StorageUnavailable("storage unavailable: OperationalError")

        update = {"update_id": 9100, **api.text(CHAT, "/start")}
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with TestClient(TestServer(make_app(h.services, webhooks=h.channel.webhooks))) as client:
            with monkeypatch.context() as m:
                m.setattr(h.chat, "record_update", down)
                assert (await client.post("/hooks/telegram", json=update, headers=headers)).status == 503
            assert api.sent(CHAT) == []
            assert (await client.post("/hooks/telegram", json=update, headers=headers)).status == 200
            await api.wait_sent(CHAT, 1)
    finally:
        await h.close()


async def test_telegram_down_while_answering_the_update_is_retried(tg: Harness) -> None:
    tg.api.fail("sendMessage", 502, "Bad Gateway")
    tg.api.push(tg.api.text(CHAT, "/aide"))
    sent = await tg.api.wait_sent(CHAT, 1)  # the sweep processes the stored update again
    assert "/nouvelle" in sent[0]["text"]
    assert [m for m, _ in tg.api.refused] == ["sendMessage"] and len(tg.api.sent(CHAT)) == 1
    await tg.idle()
    assert await update_status(tg, tg.api.offsets[-1] - 1) == ("done", 1)  # processed again once


async def test_the_starter_retries_until_telegram_answers(db: Database, api: FakeBotApi, clock: FixedClock) -> None:
    api.fail("getMe", 502, "Bad Gateway")
    settings = load_settings(database_url=db.url, telegram_token=api.token, telegram_base_url=api.base_url)
    services = build(settings, clock=clock)
    stop = await start_telegram(Edges(services, settings))
    assert stop is not None
    try:
        api.push(api.text(CHAT, "/start"))
        sent = await api.wait_sent(CHAT, 1, within=20)
        assert "Bonjour" in sent[0]["text"]
        assert [m for m, _ in api.refused] == ["getMe"]
    finally:
        await stop()
        await services.db.dispose()


async def test_a_rejected_token_turns_the_channel_off(db: Database, api: FakeBotApi, clock: FixedClock,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings(database_url=db.url, telegram_token="999:WRONG", telegram_base_url=api.base_url)
    services = build(settings, clock=clock)
    with caplog.at_level(logging.INFO):
        stop = await start_telegram(Edges(services, settings))
        assert stop is not None
        try:
            await api.wait_for(lambda: "the token was rejected" in caplog.text)
        finally:
            await stop()
            await services.db.dispose()
    assert not any(m == "getUpdates" for m, _ in api.calls)


async def test_without_a_configured_secret_every_instance_derives_the_same(db: Database, api: FakeBotApi,
                                                                          clock: FixedClock) -> None:
    h = await make_harness(db.url, api, clock, telegram_webhook_url=HOOK)
    try:
        assert api.webhook is not None
        secret = api.webhook["secret_token"]
        assert secret == derived_secret(api.token) and len(secret) == 64
        assert derived_secret("another:token") != secret
        async with TestClient(TestServer(make_app(h.services, webhooks=h.channel.webhooks))) as client:
            update = {"update_id": 9200, **api.text(CHAT, "/start")}
            ok = await client.post("/hooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret})
            assert ok.status == 200
            await api.wait_sent(CHAT, 1)
    finally:
        await h.close()


async def test_polling_acknowledges_an_update_only_once_it_is_stored(tg: Harness,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = tg.chat.record_update
    tries: list[list[int]] = []

    async def flaky(update_id: int, chat_id: int | None, payload: dict[str, object]) -> bool:
        tries.append(list(tg.api.offsets))  # what Telegram had been told when we tried to store
        if len(tries) == 1:
            raise StorageUnavailable("storage unavailable: OperationalError")
        return await real(update_id, chat_id, payload)

    monkeypatch.setattr(tg.chat, "record_update", flaky)
    update = tg.api.push(tg.api.text(CHAT, "/start"))
    sent = await tg.api.wait_sent(CHAT, 1)
    assert "Bonjour" in sent[0]["text"]
    assert tries == [[], []]  # stored at the second try; nothing acknowledged before
    await tg.api.wait_for(lambda: bool(tg.api.offsets))
    assert tg.api.offsets[0] == update["update_id"] + 1

"""The Telegram test harness: the real services on the test database, the channel, the fake Bot API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from channels.telegram.bot import TelegramChannel
from channels.telegram.sender import TelegramSender
from helpdesk.app.chat.service import ChatService
from helpdesk.bootstrap import build, telegram_channel
from helpdesk.config import load_settings
from helpdesk.db.tables import Outbox
from helpdesk.ports import FixedClock
from helpdesk.services import Services
from tests.e2e.telegram.fake_api import FakeBotApi

CHAT = 424242
PUBLIC = "https://assistance.craig.fr"


@dataclass(frozen=True)
class Sugg:
    id: str
    title: str
    score: float
    snippet: str


class TinyFaq:
    """An in-test FAQ: an entry matches when one of its keywords is in the question."""

    ENTRIES = [
        ("publier-budget", "Publier son budget <SCDL> & ses annexes", "Utilisez le schéma SCDL « budget » : "
         "fichier CSV, séparateur ';' et <balises> & caractères spéciaux_*[]()~`>#+-=|{}.!", ("budget",)),
        ("metadonnees-inspire", "Renseigner les métadonnées INSPIRE", "Une fiche de métadonnées décrit le jeu "
         "de données : titre, résumé, emprise, licence.", ("métadonnée", "inspire", "budget")),
    ]

    def search(self, query: str, limit: int = 3) -> list[Sugg]:
        q = query.lower()
        found = [Sugg(i, t, 1.0, s) for i, t, s, keys in self.ENTRIES if any(k in q for k in keys)]
        return found[:limit]


@dataclass
class Harness:
    api: FakeBotApi
    services: Services
    channel: TelegramChannel
    clock: FixedClock

    @property
    def chat(self) -> ChatService:
        return self.channel.chat

    async def say(self, text: str, chat_id: int = CHAT) -> list[dict[str, Any]]:
        """Send a text as the user; wait for the bot's next message; return everything sent to that chat."""
        before = len(self.api.sent(chat_id))
        self.api.push(self.api.text(chat_id, text))
        return await self.api.wait_sent(chat_id, before + 1)

    async def press(self, data: str, chat_id: int = CHAT, message: dict[str, Any] | None = None,
                    expect: int = 1) -> list[dict[str, Any]]:
        before = len(self.api.sent(chat_id))
        self.api.push(self.api.button(chat_id, data, message))
        if expect:
            return await self.api.wait_sent(chat_id, before + expect)
        await self.api.wait_for(lambda: any(m == "answerCallbackQuery" for m, _ in self.api.calls))
        return self.api.sent(chat_id)

    async def idle(self) -> None:
        """Wait until every update given to the fake was fetched, stored and processed."""
        await self.api.wait_for(lambda: not self.api.updates or bool(self.api.offsets)
                                and self.api.offsets[-1] > self.api.updates[-1]["update_id"])
        await self.api.wait_for(self.channel.idle)

    async def outbox(self, channel: str) -> list[Outbox]:
        async with self.services.db.transaction() as s:
            return list((await s.scalars(select(Outbox).where(Outbox.channel == channel).order_by(Outbox.id))).all())

    async def code_sent(self) -> str:
        rows = await self.outbox("email")
        match = re.search(r"\b(\d{6})\b", rows[-1].payload["text"])
        assert match
        return match.group(1)

    async def hand_over(self, question: str = "Comment publier notre budget ?", email: str | None = None,
                        org: str = "Commune de Murat") -> int:
        """Ask, then « Parler à un conseiller », give an email (or skip) and the collectivité: the ticket number."""
        sent = await self.say(question)
        human = next(d for t, d in self.api.buttons(sent[-1]) if t == "Parler à un conseiller")
        await self.press(human)
        if email:
            await self.say(email)
        else:
            await self.press("skip")
        before = len(self.api.sent(CHAT))
        self.api.push(self.api.text(CHAT, org))
        sent = await self.api.wait_sent(CHAT, before + (2 if email else 1))
        opened = next(m["text"] for m in sent[before:] if "numéro" in m["text"])
        match = re.search(r"<b>(\d+)</b>", opened)
        assert match, opened
        return int(match.group(1))

    async def close(self) -> None:
        await self.channel.stop()
        sender = self.services.outbox.senders.get("telegram")
        if isinstance(sender, TelegramSender):
            await sender.close()
        await self.services.db.dispose()


async def make_harness(url: str, api: FakeBotApi, clock: FixedClock, *, faq: Any = None,
                       **settings: Any) -> Harness:
    config = load_settings(database_url=url, telegram_token=api.token, telegram_base_url=api.base_url,
                           public_url=PUBLIC, **settings)
    services = build(config, clock=clock)
    channel = telegram_channel(services, config, faq or TinyFaq(), poll_timeout=0.2, sweep_every=0.3,
                               retry_grace=0)
    await channel.start()
    return Harness(api, services, channel, clock)


"""The Telegram channel: python-telegram-bot's Application inside our own event loop.

Every update is stored (``telegram_update``) before it is acknowledged, then processed from queues,
in arrival order within each chat; a repeated update id is ignored. Long polling by default: the offset that
acknowledges an update to Telegram only moves past it once it is stored. With
``HELPDESK_TELEGRAM_WEBHOOK_URL`` set, Telegram posts to ``/hooks/telegram`` on our aiohttp server;
a request without the right ``X-Telegram-Bot-Api-Secret-Token`` is refused (403), and the 200 only
goes out once the update is stored. Updates left unprocessed by a crash or a temporary fault are
picked up again by a periodic sweep and at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application

from channels.telegram.faq import FaqSearch, ReloadingFaq
from channels.telegram.handlers import Conversation, retryable
from channels.telegram.handover import Intake
from channels.telegram.sender import TelegramSender, file_url, retry_after_seconds
from helpdesk.app.chat.link import ChatLinkService
from helpdesk.app.chat.service import ChatService
from helpdesk.app.satisfaction.ratings import RatingService
from helpdesk.domain.errors import TemporaryError

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name, not a secret
WEBHOOK_NAME = "telegram"


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    token: str
    base_url: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    public_url: str = ""
    group_chats: frozenset[int] = frozenset()
    poll_timeout: float = 25.0
    workers: int = 8
    sweep_every: float = 30.0
    retry_grace: float = 60.0  # a stored update nobody finished after this long is taken up again


def derived_secret(token: str) -> str:
    """The webhook secret when none is configured: derived from the token, so every instance agrees."""
    return hmac.new(token.encode(), b"helpdesk telegram webhook", hashlib.sha256).hexdigest()


class TelegramChannel:
    def __init__(self, config: TelegramConfig, *, chat: ChatService, link: ChatLinkService, intake: Intake,
                 faq: FaqSearch, ratings: RatingService | None = None, webhooks: dict[str, Any] | None = None) -> None:
        self.config = config
        self.chat = chat
        self.webhooks = webhooks if webhooks is not None else {}
        self.conversation = Conversation(chat, link, intake, faq, public_url=config.public_url,
                                         group_chats=config.group_chats, ratings=ratings)
        self.secret = config.webhook_secret or derived_secret(config.token)
        self.app: Application[Any, Any, Any, Any, Any, Any] | None = None
        self.started = asyncio.Event()
        # One queue per worker; a chat always maps to the same worker, so its updates stay in order
        # while other chats are answered meanwhile.
        self._queues: list[asyncio.Queue[Update]] = [asyncio.Queue() for _ in range(max(1, config.workers))]
        self._workers: list[asyncio.Task[None]] = []
        self._inflight: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []

    # ---- life cycle -------------------------------------------------------------------------
    async def start(self) -> None:
        builder = Application.builder().token(self.config.token).updater(None)
        if self.config.base_url:
            builder = builder.base_url(self.config.base_url).base_file_url(file_url(self.config.base_url))
        app = builder.build()
        self.conversation.register(app)
        try:
            await app.initialize()  # getMe: checks the token
        except BaseException:
            await app.bot.shutdown()  # close the HTTP clients initialize() opened
            raise
        self.app = app
        await app.start()
        self._workers = [asyncio.create_task(self._work(q)) for q in self._queues]
        await self._requeue()
        if self.config.webhook_url:
            await app.bot.set_webhook(self.config.webhook_url, secret_token=self.secret,
                                      allowed_updates=ALLOWED_UPDATES)
            self.webhooks[WEBHOOK_NAME] = self.handle_webhook
            log.info("Telegram channel on (webhook %s)", self.config.webhook_url)
        else:
            await app.bot.delete_webhook()
            self._tasks.append(asyncio.create_task(self._poll()))
            log.info("Telegram channel on (long polling)")
        self._tasks.append(asyncio.create_task(self._sweep()))
        self.started.set()

    async def stop(self) -> None:
        self.webhooks.pop(WEBHOOK_NAME, None)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._workers:
            with contextlib.suppress(TimeoutError):  # let the updates in hand finish
                await asyncio.wait_for(asyncio.gather(*(q.join() for q in self._queues)), timeout=5)
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._workers.clear()
        if self.app is not None:
            if self.app.running:
                await self.app.stop()
            await self.app.shutdown()
            self.app = None

    # ---- intake of updates ------------------------------------------------------------------
    async def store(self, update: Update, payload: dict[str, Any]) -> bool:
        """Store then queue one update. False for a repeated update id. Raises TemporaryError."""
        if update.update_id in self._inflight:
            return False
        self._inflight.add(update.update_id)
        chat = update.effective_chat
        try:
            fresh = await self.chat.record_update(update.update_id, chat.id if chat else None, payload)
        except BaseException:
            self._inflight.discard(update.update_id)
            raise
        if fresh:
            self._enqueue(update)
        else:
            self._inflight.discard(update.update_id)
        return fresh

    async def _poll(self) -> None:
        assert self.app is not None
        bot = self.app.bot
        offset: int | None = None
        pause = 1.0
        while True:
            try:
                updates = await bot.get_updates(offset=offset, timeout=timedelta(seconds=self.config.poll_timeout),
                                                allowed_updates=ALLOWED_UPDATES)
                for update in updates:
                    await self.store(update, json.loads(update.to_json()))
                    offset = update.update_id + 1  # acknowledged only once stored
                pause = 1.0
            except RetryAfter as exc:
                await asyncio.sleep(retry_after_seconds(exc))
            except InvalidToken:
                log.error("Telegram rejected the token: polling stopped")
                return
            except (TelegramError, TemporaryError) as exc:
                if isinstance(exc, Conflict):
                    log.warning("Telegram polling conflict (another instance or a webhook is active)")
                else:
                    log.warning("Telegram polling failed (%s); retrying in %.0f s", type(exc).__name__, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60.0)
            except Exception:  # a bug must not stop the channel for good
                log.exception("Telegram polling crashed; retrying in %.0f s", pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60.0)

    async def handle_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("Telegram webhook refused: missing or wrong secret token")
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400, text="invalid JSON")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int) or self.app is None:
            return web.Response(status=400, text="not an update")
        update = Update.de_json(data, self.app.bot)
        try:
            await self.store(update, data)
        except TemporaryError:
            return web.Response(status=503, text="temporarily unavailable")  # Telegram retries
        return web.Response(text="ok")

    def _enqueue(self, update: Update) -> None:
        chat = update.effective_chat
        self._queues[(chat.id if chat else 0) % len(self._queues)].put_nowait(update)

    def idle(self) -> bool:
        """Nothing stored is waiting or being processed."""
        return not self._inflight and all(q.empty() for q in self._queues)

    async def _work(self, queue: asyncio.Queue[Update]) -> None:
        while True:
            update = await queue.get()
            try:
                await self._process(update)
            except Exception:
                log.exception("Telegram update %s could not be marked", update.update_id)
            finally:
                self._inflight.discard(update.update_id)
                queue.task_done()

    async def _process(self, update: Update) -> None:
        assert self.app is not None
        await self.app.process_update(update)
        exc = self.conversation.failed.pop(update.update_id, None)
        status = "done" if exc is None else "received" if retryable(exc) else "failed"
        await self.chat.mark_update(update.update_id, status)

    async def _requeue(self) -> None:
        assert self.app is not None
        grace = timedelta(seconds=self.config.retry_grace)
        for payload in await self.chat.pending_updates(exclude=frozenset(self._inflight), grace=grace):
            update = Update.de_json(payload, self.app.bot)
            if update.update_id not in self._inflight:
                self._inflight.add(update.update_id)
                self._enqueue(update)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.config.sweep_every)
            try:
                await self._requeue()
                await self.chat.prune_updates()
            except TemporaryError:
                log.warning("Telegram sweep: storage unavailable")


async def run_telegram(channel: TelegramChannel, faq: ReloadingFaq,
                       sender: TelegramSender | None = None) -> Callable[[], Awaitable[None]]:
    """Start the channel in the background, retrying until Telegram answers; the stopper closes ``sender``
    too (the Outbox's, which shares the bot's HTTP client settings). Bootstrap builds the channel."""
    stop = asyncio.Event()

    async def run() -> None:
        pause = 2.0
        while True:
            try:
                await channel.start()
                break
            except InvalidToken:
                log.error("Telegram channel off: the token was rejected")
                await channel.stop()
                return
            except (TelegramError, TemporaryError, OSError) as exc:
                log.warning("Telegram unreachable at start (%s); retrying in %.0f s", type(exc).__name__, pause)
                await channel.stop()
                await asyncio.sleep(pause)
                pause = min(pause * 2, 120.0)
        await faq.run(stop)

    task = asyncio.create_task(run())

    async def stopper() -> None:
        stop.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await channel.stop()
        if sender is not None:
            await sender.close()

    return stopper

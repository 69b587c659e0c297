"""The Outbox sender for channel "telegram": staff replies and staff-chat alerts.

Bot API failures map to the dispatcher's SendError: 429 waits for ``retry_after``; 5xx, time-outs and
network errors retry with backoff; 403 (the user blocked the bot) marks the contact and stops; other
400s are permanent. Texts are escaped for HTML and split under 4096 characters.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from channels.telegram import compose
from helpdesk.ports import SendError

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns while retry_after moves from int to timedelta
        warnings.simplefilter("ignore")
        value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def make_bot(token: str, base_url: str | None = None) -> Bot:
    if not base_url:
        return Bot(token)
    return Bot(token, base_url=base_url, base_file_url=file_url(base_url))


def file_url(base_url: str) -> str:
    """Telegram's file URL beside a Bot API base URL: ``…/bot`` → ``…/file/bot``."""
    base = base_url.rstrip("/")
    if base.endswith("/bot"):
        return base[: -len("/bot")] + "/file/bot"
    return base + "/file/bot"


def keyboard(rows: Any) -> InlineKeyboardMarkup | None:
    """Inline buttons from a payload: rows of [label, callback data] pairs."""
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(str(label), callback_data=str(data)) for label, data in row]
                                 for row in rows])


class TelegramSender:
    def __init__(self, bot: Bot, on_blocked: Callable[[int], Awaitable[None]] | None = None) -> None:
        self.bot = bot
        self.on_blocked = on_blocked
        self._ready = False

    async def send(self, payload: Mapping[str, Any]) -> None:
        chat_id = int(payload["chat_id"])
        text = str(payload.get("text") or "")
        if payload.get("db_message_id") is not None:  # a staff reply on a ticket
            parts = compose.staff_reply(text, payload.get("ticket_number"))
        else:
            parts = compose.plain(text)
        if not parts:
            raise SendError("empty Telegram message", permanent=True)
        try:
            if not self._ready:
                await self.bot.initialize()
                self._ready = True
            markup = keyboard(payload.get("buttons"))
            for n, part in enumerate(parts):
                await self.bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW,
                                            reply_markup=markup if n == len(parts) - 1 else None)
        except RetryAfter as exc:
            raise SendError("Telegram flood control (429)", retry_after=retry_after_seconds(exc)) from exc
        except Forbidden as exc:
            if self.on_blocked is not None:
                await self.on_blocked(chat_id)
            raise SendError(f"Telegram refused (403): {exc.message}", permanent=True) from exc
        except BadRequest as exc:
            raise SendError(f"Telegram rejected the message (400): {exc.message}", permanent=True) from exc
        except InvalidToken as exc:  # configuration: retried until an admin fixes the token
            raise SendError("Telegram token rejected") from exc
        except NetworkError as exc:  # 5xx, time-outs, connection errors
            raise SendError(f"Telegram unreachable: {exc.message}") from exc
        except TelegramError as exc:
            raise SendError(f"Telegram error: {exc.message}") from exc

    async def close(self) -> None:
        if self._ready:
            self._ready = False
            await self.bot.shutdown()

"""The conversation: commands, questions answered from the FAQ, buttons, hand-over, files.

A translator: every decision about tickets lives in the core (intake, the chat reopen policy in
helpdesk/domain/chat_policy.py); every state change goes through helpdesk/app/chat*.py.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from channels.telegram import compose
from channels.telegram.faq import FaqAnswers, FaqSearch
from channels.telegram.handover import NO_PREVIEW, Ctx, HandoverFlow, Intake
from helpdesk.app.chat.link import ChatLinkService
from helpdesk.app.chat.service import AWAITING_EMAIL, AWAITING_ORG, ChatService, ChatView
from helpdesk.app.intake.messages import InboundAttachment, InboundMessage
from helpdesk.app.satisfaction.ratings import RatingService
from helpdesk.domain.chat_policy import ChatRoute
from helpdesk.domain.errors import TemporaryError, UserError
from helpdesk.domain.values import Channel, IntakeAction, TicketStatus

log = logging.getLogger(__name__)
CODE_RE = re.compile(r"\d{6}")
MAX_FILE = 20 * 1024 * 1024  # the Bot API's getFile limit


def retryable(exc: BaseException) -> bool:
    """A failure worth processing the update again: our storage, or Telegram down or rate-limiting."""
    if isinstance(exc, TemporaryError | RetryAfter | TimedOut):
        return True
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


@dataclass
class Conversation(HandoverFlow):
    chat: ChatService
    link: ChatLinkService
    intake: Intake
    faq: FaqSearch
    public_url: str = ""
    group_chats: frozenset[int] = frozenset()
    ratings: RatingService | None = None
    failed: dict[int, BaseException] = field(default_factory=dict)

    def register(self, app: Application[Any, Any, Any, Any, Any, Any]) -> None:
        app.add_handler(TypeHandler(Update, self.gate), group=-1)
        app.add_handler(CommandHandler("start", self.cmd_start))
        app.add_handler(CommandHandler("aide", self.cmd_help))
        app.add_handler(CommandHandler("mesdemandes", self.cmd_my_requests))
        app.add_handler(CommandHandler("nouvelle", self.cmd_new))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(filters.PHOTO | filters.Document.ALL, self.on_file))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(filters.COMMAND, self.on_unknown_command))
        app.add_error_handler(self.on_error)

    # ---- plumbing ---------------------------------------------------------------------------
    async def gate(self, update: Update, context: Ctx) -> None:
        """Group chats are ignored unless an admin listed them."""
        chat = update.effective_chat
        if chat is not None and chat.type != ChatType.PRIVATE and chat.id not in self.group_chats:
            raise ApplicationHandlerStop

    async def on_error(self, update: object, context: Ctx) -> None:
        """Ours, temporary (storage, Telegram unreachable): the update is kept and retried by the sweep.
        Anything else is a bug: logged with its traceback, the user is told once."""
        exc = context.error or RuntimeError("unknown error")
        if isinstance(update, Update):
            self.failed[update.update_id] = exc
        if retryable(exc):
            log.warning("temporary failure on a Telegram update (%s): it will be retried", type(exc).__name__)
            if isinstance(exc, TelegramError):
                return  # Telegram itself is failing: an apology would not get through either
            text = compose.TEMPORARY_PROBLEM
        else:
            log.error("Telegram update failed", exc_info=exc)
            text = compose.FAILED
        if isinstance(update, Update) and update.effective_chat is not None:
            try:
                await context.bot.send_message(update.effective_chat.id, text)
            except TelegramError:
                log.warning("could not tell the chat about the failure")

    # ---- commands ---------------------------------------------------------------------------
    async def cmd_start(self, update: Update, context: Ctx) -> None:
        await self._say(context.bot, self._ids(update)[0], compose.esc(compose.WELCOME))

    async def cmd_help(self, update: Update, context: Ctx) -> None:
        await self._say(context.bot, self._ids(update)[0], compose.esc(compose.HELP))

    async def cmd_my_requests(self, update: Update, context: Ctx) -> None:
        chat_id = self._ids(update)[0]
        rows = await self.chat.open_tickets(chat_id)
        await self._say(context.bot, chat_id, compose.my_requests([(r.number, r.subject, r.status) for r in rows]))

    async def cmd_new(self, update: Update, context: Ctx) -> None:
        chat_id = self._ids(update)[0]
        await self.chat.start_fresh(chat_id)
        await self._say(context.bot, chat_id, compose.esc(compose.NEW_QUESTION))

    async def on_unknown_command(self, update: Update, context: Ctx) -> None:
        await self._say(context.bot, self._ids(update)[0], compose.esc(compose.UNKNOWN_COMMAND))

    # ---- text -------------------------------------------------------------------------------
    async def on_text(self, update: Update, context: Ctx) -> None:
        chat_id, name = self._ids(update)
        message = update.effective_message
        assert message is not None and message.text is not None
        text = message.text.strip()
        view = await self.chat.view(chat_id, name)
        if view.state == AWAITING_EMAIL:
            await self._got_email(update, context, text)
        elif view.state == AWAITING_ORG:
            await self._got_org(update, context, view, text)
        elif view.code_pending and CODE_RE.fullmatch(text):
            await self._got_code(update, context, text)
        elif view.route is ChatRoute.FAQ:
            await self._answer_from_faq(update, context, text)
        else:
            await self._to_ticket(update, context, view, text, ())

    async def _answer_from_faq(self, update: Update, context: Ctx, text: str) -> None:
        chat_id = self._ids(update)[0]
        # the engine's sentence encoder costs 30-250 ms of CPU per message: off the event loop
        found = list(await asyncio.to_thread(self.faq.search, text, 3))
        sid = await self.chat.record_question(chat_id, text, [(s.id, s.title) for s in found])
        if not found:
            await self._say(context.bot, chat_id, compose.esc(compose.ABSTAIN),
                            InlineKeyboardMarkup([[self._human_button(sid)]]))
            return
        base = self.public_url.rstrip("/")
        items = [(s.title, s.snippet, f"{base}/faq/{s.id}" if base else "") for s in found]
        rows = [[InlineKeyboardButton(compose.helpful_label(i, len(found)), callback_data=f"ok:{sid}:{i}")]
                for i in range(len(found))]
        rows.append([self._human_button(sid)])
        answers = [compose.answer_html(self.faq.answer(found[0].id))] if isinstance(self.faq, FaqAnswers) else []
        parts = compose.suggestions(items, answers)
        for n, part in enumerate(parts):
            await self._say(context.bot, chat_id, part, InlineKeyboardMarkup(rows) if n == len(parts) - 1 else None)

    # ---- onto a ticket ----------------------------------------------------------------------
    async def _to_ticket(self, update: Update, context: Ctx, view: ChatView, text: str,
                         attachments: tuple[InboundAttachment, ...]) -> None:
        chat_id, name = self._ids(update)
        linked = view.route is ChatRoute.NEW_LINKED
        msg = InboundMessage(
            channel=Channel.TELEGRAM, external_id=str(update.update_id), sender_name=name,
            telegram_chat_id=chat_id, visible_text=text, full_text=text, attachments=attachments,
            ticket_number=None if linked else view.ticket_number, force_new=linked,
            subject="" if text else "Fichier envoyé depuis Telegram",
            meta={"telegram_follow_up_of": view.ticket_number} if linked else {},
        )
        result = await self.intake.receive(msg)
        if result.action is IntakeAction.DUPLICATE or result.ticket_number is None:
            return
        if result.action is IntakeAction.CREATED and view.ticket_number is not None:
            reply = compose.new_linked(result.ticket_number, view.ticket_number)
        else:
            reply = compose.appended(result.ticket_number, reopened=view.ticket_status is TicketStatus.RESOLVED)
        await self._say(context.bot, chat_id, reply)

    # ---- buttons ----------------------------------------------------------------------------
    async def on_button(self, update: Update, context: Ctx) -> None:
        query = update.callback_query
        assert query is not None
        try:
            await query.answer()
        except BadRequest:  # "query is too old" after a restart: the click still counts
            log.info("callback query answered too late")
        chat_id = self._ids(update)[0]
        kind, _, rest = (query.data or "").partition(":")
        if kind == "ok":
            sid, _, index = rest.partition(":")
            if not (sid.isdigit() and index.isdigit()):
                return
            chosen = await self.chat.feedback(chat_id, int(sid), helpful_index=int(index))
            if chosen is not None and isinstance(query.message, Message) and query.message.text:
                thanked = f"{query.message.text_html}\n\n{compose.esc(compose.THANKS_HELPFUL)}"
                if compose.tg_len(thanked) <= compose.LIMIT:
                    await query.edit_message_text(thanked, parse_mode=ParseMode.HTML,
                                                  link_preview_options=NO_PREVIEW)
                    return
                await self._say(context.bot, chat_id, compose.esc(compose.THANKS_HELPFUL))
        elif kind == "hu":
            if rest.isdigit() and int(rest) > 0:
                await self.chat.feedback(chat_id, int(rest), helpful_index=None)
            await self._handover(update, context)
        elif kind == "rate" and self.ratings is not None:
            await self._rated(update, context, rest)
        elif kind == "skip":
            await self.chat.set_state(chat_id, AWAITING_ORG)
            await self._say(context.bot, chat_id, compose.esc(compose.ASK_ORG))

    async def _rated(self, update: Update, context: Ctx, rest: str) -> None:
        assert self.ratings is not None and update.callback_query is not None
        ref, _, score = rest.rpartition(":")
        try:
            await self.ratings.rate(ref, int(score), channel=Channel.TELEGRAM.value)
        except (UserError, ValueError):
            await self._say(context.bot, self._ids(update)[0], compose.esc(compose.RATING_REFUSED))
            return
        message = update.callback_query.message
        if isinstance(message, Message) and message.text:
            await update.callback_query.edit_message_text(
                f"{message.text_html}\n\n{compose.esc(compose.rating_thanks(int(score)))}", parse_mode=ParseMode.HTML)

    # ---- files ------------------------------------------------------------------------------
    async def on_file(self, update: Update, context: Ctx) -> None:
        chat_id, name = self._ids(update)
        message = update.effective_message
        assert message is not None
        if message.photo:
            photo = message.photo[-1]
            ref = {"id": photo.file_id, "name": f"photo-{photo.file_unique_id}.jpg", "mime": "image/jpeg",
                   "size": photo.file_size or 0}
        else:
            doc = message.document
            assert doc is not None
            ref = {"id": doc.file_id, "name": doc.file_name or f"document-{doc.file_unique_id}",
                   "mime": doc.mime_type or "application/octet-stream", "size": doc.file_size or 0}
        if int(str(ref["size"])) > MAX_FILE:
            await self._say(context.bot, chat_id, compose.esc(compose.FILE_TOO_BIG))
            return
        caption = (message.caption or "").strip()
        view = await self.chat.view(chat_id, name)
        if view.route is ChatRoute.FAQ:
            await self.chat.remember(chat_id, "user", caption, file=ref)
            await self._say(context.bot, chat_id, compose.esc(compose.FILE_KEPT),
                            InlineKeyboardMarkup([[self._human_button(0)]]))
            return
        attachment = await self._download(context.bot, ref)
        await self._to_ticket(update, context, view, caption, (attachment,))

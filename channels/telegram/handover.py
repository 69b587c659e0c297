"""Hand-over to a person: the email question, the collectivité, the one-time code, the ticket.

A mixin of ``Conversation`` (handlers.py): the conversation so far becomes the first message of a
ticket opened through intake; files shown before the hand-over travel with it.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from channels.telegram import compose
from helpdesk.app.chat.link import ChatLinkService, LinkOutcome, valid_email
from helpdesk.app.chat.service import AWAITING_EMAIL, ChatService, ChatView
from helpdesk.app.intake.messages import InboundAttachment, InboundMessage, IntakeResult, OrganizationHint
from helpdesk.domain.chat_policy import ChatRoute
from helpdesk.domain.values import Channel

log = logging.getLogger(__name__)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
Ctx = ContextTypes.DEFAULT_TYPE


class Intake(Protocol):
    async def receive(self, msg: InboundMessage) -> IntakeResult: ...


class HandoverFlow:
    chat: ChatService
    link: ChatLinkService
    intake: Intake

    async def _say(self, bot: Bot, chat_id: int, html_text: str, markup: InlineKeyboardMarkup | None = None) -> None:
        await bot.send_message(chat_id, html_text, parse_mode=ParseMode.HTML, reply_markup=markup,
                               link_preview_options=NO_PREVIEW)

    @staticmethod
    def _ids(update: Update) -> tuple[int, str | None]:
        assert update.effective_chat is not None
        user = update.effective_user
        return update.effective_chat.id, user.full_name if user else None

    @staticmethod
    def _human_button(suggestion_id: int) -> InlineKeyboardButton:
        return InlineKeyboardButton(compose.BUTTON_HUMAN, callback_data=f"hu:{suggestion_id}")

    # ---- hand-over ------------------------------------------------------------------------
    async def _got_email(self, update: Update, context: Ctx, text: str) -> None:
        chat_id = self._ids(update)[0]
        if not valid_email(text):
            skip = InlineKeyboardMarkup([[InlineKeyboardButton(compose.BUTTON_SKIP, callback_data="skip")]])
            await self._say(context.bot, chat_id, compose.esc(compose.BAD_EMAIL), skip)
            return
        await self.chat.set_email(chat_id, text)
        await self._say(context.bot, chat_id, compose.esc(compose.ASK_ORG))

    async def _got_code(self, update: Update, context: Ctx, code: str) -> None:
        chat_id = self._ids(update)[0]
        result = await self.link.verify_code(chat_id, code)
        if result.outcome is LinkOutcome.LINKED and result.email:
            reply = compose.code_linked(result.email)
        elif result.outcome is LinkOutcome.WRONG:
            reply = compose.code_wrong(result.attempts_left)
        elif result.outcome is LinkOutcome.EXPIRED:
            reply = compose.esc(compose.CODE_EXPIRED)
        else:
            reply = compose.esc(compose.NO_CODE)
        await self._say(context.bot, chat_id, reply)

    async def _got_org(self, update: Update, context: Ctx, view: ChatView, text: str) -> None:
        chat_id = self._ids(update)[0]
        await self.chat.set_organization(chat_id, text)
        await self._open_ticket(update, context)
        needs_code = view.pending_email and view.pending_email != view.linked_email
        email = await self.link.issue_code(chat_id) if needs_code else None
        if email:
            await self._say(context.bot, chat_id, compose.code_sent(email))

    async def _open_ticket(self, update: Update, context: Ctx) -> None:
        """Hand the conversation so far over to a person: a new ticket through intake."""
        chat_id, name = self._ids(update)
        handover = await self.chat.handover(chat_id)
        attachments = []
        text = handover.text
        for ref in handover.files:
            try:
                attachments.append(await self._download(context.bot, ref))
            except Exception as exc:  # noqa: BLE001 - an expired file must not block the hand-over
                log.warning("could not fetch a Telegram file for the hand-over: %s", type(exc).__name__)
                text += f"\n(fichier non récupérable : {ref.get('name', 'fichier')})"
        msg = InboundMessage(
            channel=Channel.TELEGRAM, external_id=str(update.update_id), sender_name=name,
            telegram_chat_id=chat_id, subject=handover.subject, visible_text=text, full_text=text,
            attachments=tuple(attachments), force_new=True, meta={"telegram_handover": True},
            organization=OrganizationHint(handover.organization) if handover.organization else None,
        )
        result = await self.intake.receive(msg)
        if result.ticket_number is not None:
            await self._say(context.bot, chat_id, compose.ticket_opened(result.ticket_number))

    async def _handover(self, update: Update, context: Ctx) -> None:
        chat_id, name = self._ids(update)
        view = await self.chat.view(chat_id, name)
        if view.route is ChatRoute.APPEND and view.ticket_number is not None:
            await self._say(context.bot, chat_id, compose.already_handled(view.ticket_number))
        elif view.linked_email is None and not view.asked_identity:
            await self.chat.set_state(chat_id, AWAITING_EMAIL)
            skip = InlineKeyboardMarkup([[InlineKeyboardButton(compose.BUTTON_SKIP, callback_data="skip")]])
            await self._say(context.bot, chat_id, compose.esc(compose.ASK_EMAIL), skip)
        else:
            await self._open_ticket(update, context)

    @staticmethod
    async def _download(bot: Bot, ref: dict[str, Any]) -> InboundAttachment:
        tg_file = await bot.get_file(str(ref["id"]))
        data = bytes(await tg_file.download_as_bytearray())
        return InboundAttachment(filename=str(ref["name"]), content_type=str(ref["mime"]), data=data)

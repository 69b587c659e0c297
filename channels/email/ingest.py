"""One path for every raw message (SMTP, LMTP, `helpdesk ingest`, quarantine reprocess).

raw bytes → parse → quarantine (unparseable) | bounce (mark the address, keep the report) |
automatic (stored on its ticket, never a new one) | human (intake, group commit) → IntakeResult.
StorageUnavailable propagates: the edge answers "temporary" and the sender retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from channels.email.parse import ParsedMail, UnparseableMail, parse_message
from helpdesk.app.intake.messages import InboundMessage, IntakeResult
from helpdesk.app.mail.bounces import AutomaticMailService
from helpdesk.app.quarantine.service import QuarantineService
from helpdesk.domain.errors import TemporaryError
from helpdesk.domain.threading import subject_ticket_number
from helpdesk.domain.values import Channel, IntakeAction

log = logging.getLogger(__name__)

OFFLOAD_BYTES = 512 * 1024
# FAQ suggestions for a new message; None when intake need not search (the acknowledgement then gets
# its suggestions when it is sent, off the SMTP path).
Suggest = Callable[[str], Awaitable[Sequence[dict[str, Any]] | None]]


class Receiver(Protocol):
    async def receive(self, msg: InboundMessage) -> IntakeResult: ...


def to_inbound(mail: ParsedMail, raw: bytes, meta: dict[str, Any] | None = None) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL,
        external_id=mail.message_id,
        sender_email=mail.sender_email,
        sender_name=mail.sender_name,
        subject=mail.subject,
        visible_text=mail.visible_text,
        full_text=mail.full_text,
        html_sanitised=mail.html_sanitised,
        attachments=mail.attachments,
        raw=raw,
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        automatic=mail.verdict.automatic,
        automatic_reason=mail.verdict.reason,
        meta=dict(meta or {}),
    )


class MailIngest:
    def __init__(
        self,
        receiver: Receiver,
        automatic: AutomaticMailService,
        quarantine: QuarantineService,
        *,
        suggest: Suggest | None = None,
    ) -> None:
        self.receiver = receiver
        self.automatic = automatic
        self.quarantine = quarantine
        self.suggest = suggest

    async def process(
        self, raw: bytes, *, envelope_sender: str | None = None, quarantine_failures: bool = True
    ) -> IntakeResult:
        """Store one message. Raises StorageUnavailable (temporary) and, when ``quarantine_failures``
        is off, UnparseableMail."""
        try:
            if len(raw) > OFFLOAD_BYTES:  # a big message must not stall the other SMTP sessions
                mail = await asyncio.to_thread(parse_message, raw, envelope_sender=envelope_sender)
            else:
                mail = parse_message(raw, envelope_sender=envelope_sender)
        except UnparseableMail as exc:
            if not quarantine_failures:
                raise
            return await self._hold(raw, str(exc))
        except Exception as exc:  # a parser bug: the bytes are kept aside, the sender is not asked to retry
            log.exception("email parser failed; message quarantined")
            if not quarantine_failures:
                raise
            return await self._hold(raw, f"parser failed: {type(exc).__name__}: {exc}"[:500])
        meta: dict[str, Any] = {}
        if envelope_sender is not None:
            meta["envelope_from"] = envelope_sender
        try:
            if mail.bounce is not None:
                return await self._bounce(mail, raw, meta)
            if mail.verdict.automatic:
                meta["automatic_kind"] = mail.verdict.kind.value
                return await self.automatic.receive(to_inbound(mail, raw, meta))
            if self.suggest is not None and _looks_new(mail):
                found = await self._suggestions(mail)
                if found is None:
                    meta["faq_pending"] = True
                else:
                    meta["faq_suggestions"] = found
            return await self.receiver.receive(to_inbound(mail, raw, meta))
        except TemporaryError:
            raise
        except Exception as exc:  # a bug on one message: keep it in quarantine rather than lose or loop it
            log.exception("email intake failed; message quarantined")
            if not quarantine_failures:
                raise
            return await self._hold(raw, f"intake failed: {type(exc).__name__}: {exc}"[:500], mail)

    async def _bounce(self, mail: ParsedMail, raw: bytes, meta: dict[str, Any]) -> IntakeResult:
        assert mail.bounce is not None
        marked = await self.automatic.mark_bouncing(mail.bounce.recipients, mail.bounce.reason)
        meta.update(automatic_kind="bounce", bounced=list(mail.bounce.recipients), marked=marked)
        inbound = to_inbound(mail, raw, meta)
        # A DSN names our original message: thread it there (shown to staff, status unchanged).
        inbound = replace(inbound, in_reply_to=mail.bounce.original_ids + inbound.in_reply_to)
        result = await self.automatic.receive(inbound)
        if marked:
            return replace(result, reason=f"bounce: {', '.join(marked)} marked as bouncing; {result.reason}")
        return result

    async def _suggestions(self, mail: ParsedMail) -> list[dict[str, Any]] | None:
        assert self.suggest is not None
        try:
            found = await self.suggest(f"{mail.subject}\n\n{mail.visible_text}")
        except TemporaryError:
            raise
        except Exception:  # noqa: BLE001 - suggestions are a bonus; the message must go through
            log.exception("FAQ suggestions failed; acknowledging without them")
            return []
        if found is None:
            return None
        return [{"id": s.get("id"), "title": s.get("title"), "score": s.get("score"), "tags": s.get("tags")}
                for s in found][:3]

    async def _hold(self, raw: bytes, reason: str, mail: ParsedMail | None = None) -> IntakeResult:
        qid = await self.quarantine.hold(
            channel=Channel.EMAIL.value, raw=raw, reason=reason,
            sender=mail.sender_email if mail else None, subject=mail.subject if mail else None,
        )
        return IntakeResult(IntakeAction.IGNORED, None, f"quarantined (#{qid}): {reason}")


def _looks_new(mail: ParsedMail) -> bool:
    return not mail.in_reply_to and not mail.references and subject_ticket_number(mail.subject) is None


def only_when(needed: Callable[[], Awaitable[bool]], search: Suggest) -> Suggest:
    """A suggester that searches only when ``needed()`` says so (a routing rule uses FAQ tags)."""

    async def suggest(text: str) -> Sequence[dict[str, Any]] | None:
        return await search(text) if await needed() else None

    return suggest


def reprocessor(ingest: MailIngest) -> Callable[[bytes], Awaitable[IntakeResult]]:
    """What `helpdesk quarantine reprocess` and the staff button run for email (built by bootstrap)."""

    async def run(raw: bytes) -> IntakeResult:
        return await ingest.process(raw, quarantine_failures=False)

    return run


def ticket_maker(intake: Receiver) -> Callable[[bytes, dict[str, Any]], Awaitable[IntakeResult]]:
    """What the « Créer un ticket » button on the automatic mail page runs for email.

    Staff judged a kept automatic mail to be a real request: it is parsed again and goes straight to
    intake as a human message on a new ticket (the automatic verdict and the bounce handling are
    skipped on purpose; the verdict is kept in the meta).
    """

    async def run(raw: bytes, meta: dict[str, Any]) -> IntakeResult:
        mail = parse_message(raw)
        inbound = to_inbound(mail, raw, {**meta, "automatic_kind_overridden": mail.verdict.kind.value})
        return await intake.receive(replace(inbound, automatic=False, automatic_reason=None, force_new=True))

    return run

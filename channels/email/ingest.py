"""One path for every raw message (SMTP, LMTP, `helpdesk ingest`, quarantine reprocess).

raw bytes → parse (in a worker process, under a time and memory budget) → quarantine (unparseable,
over budget) | bounce (mark the address, keep the report) | automatic (stored on its ticket, never
a new one) | human (intake, group commit) → IntakeResult.
StorageUnavailable propagates: the edge answers "temporary" and the sender retries — over SMTP at most
``MAX_TEMPORARY`` times for the same bytes; then the message goes to the quarantine (if the
storage can take it), so that no message is held in 4xx for ever.
Text the databases cannot store (NUL, lone surrogates) is replaced before intake; the raw bytes
are kept as they came.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from channels.email.parse import ParsedMail, UnparseableMail
from channels.email.verp import verp_ids
from channels.email.worker import ParserPool
from helpdesk.app.faq.index import FaqHit
from helpdesk.app.intake.messages import InboundAttachment, InboundMessage, IntakeResult
from helpdesk.app.mail.bounces import AutomaticMailService
from helpdesk.app.quarantine.service import QuarantineService
from helpdesk.app.quarantine.storable import storable, storable_json, storable_opt
from helpdesk.domain.errors import TemporaryError
from helpdesk.domain.threading import subject_ticket_number
from helpdesk.domain.values import Channel, IntakeAction

log = logging.getLogger(__name__)

MAX_TEMPORARY = 3  # temporary failures for the same bytes before the quarantine takes them
# FAQ suggestions for a new message; None when intake need not search (the acknowledgement then gets
# its suggestions when it is sent, off the SMTP path).
Suggest = Callable[[str], Awaitable[Sequence[FaqHit] | None]]
# raw bytes, envelope sender → ParsedMail (raises UnparseableMail); the default runs in ParserPool.shared()
Parse = Callable[[bytes, str | None], Awaitable[ParsedMail]]


async def pool_parse(raw: bytes, envelope_sender: str | None) -> ParsedMail:
    return await ParserPool.shared().parse(raw, envelope_sender=envelope_sender)


class TemporaryFailures:
    """How often the same bytes got a temporary failure (bounded memory: the oldest are forgotten)."""

    def __init__(self, limit: int = MAX_TEMPORARY, remember: int = 10_000) -> None:
        self.limit = limit
        self.remember = remember
        self._seen: OrderedDict[str, int] = OrderedDict()

    def note(self, raw: bytes) -> int:
        """Count one more failure for ``raw``; answers the count so far."""
        key = hashlib.sha256(raw).hexdigest()
        count = self._seen.pop(key, 0) + 1
        self._seen[key] = count
        while len(self._seen) > self.remember:
            self._seen.popitem(last=False)
        return count

    def exhausted(self, raw: bytes) -> bool:
        return self.note(raw) >= self.limit

    def forget(self, raw: bytes) -> None:
        self._seen.pop(hashlib.sha256(raw).hexdigest(), None)


class Receiver(Protocol):
    async def receive(self, msg: InboundMessage) -> IntakeResult: ...


def to_inbound(mail: ParsedMail, raw: bytes, meta: dict[str, Any] | None = None) -> InboundMessage:
    """The message for intake, every text made storable on both databases (raw bytes untouched)."""
    return InboundMessage(
        channel=Channel.EMAIL,
        external_id=storable(mail.message_id),
        sender_email=storable(mail.sender_email),
        sender_name=storable_opt(mail.sender_name),
        subject=storable(mail.subject),
        visible_text=storable(mail.visible_text),
        full_text=storable(mail.full_text),
        html_sanitised=storable_opt(mail.html_sanitised),
        attachments=tuple(_storable_attachment(a) for a in mail.attachments),
        raw=raw,
        in_reply_to=tuple(storable(i) for i in mail.in_reply_to),
        references=tuple(storable(i) for i in mail.references),
        automatic=mail.verdict.automatic,
        automatic_reason=storable_opt(mail.verdict.reason),
        meta=storable_json(dict(meta or {})),
    )


def _storable_attachment(a: InboundAttachment) -> InboundAttachment:
    name, cid = storable(a.filename), storable_opt(a.content_id)
    return a if (name, cid) == (a.filename, a.content_id) else replace(a, filename=name, content_id=cid)


class MailIngest:
    def __init__(
        self,
        receiver: Receiver,
        automatic: AutomaticMailService,
        quarantine: QuarantineService,
        *,
        suggest: Suggest | None = None,
        parse: Parse | None = None,
    ) -> None:
        self.receiver = receiver
        self.automatic = automatic
        self.quarantine = quarantine
        self.suggest = suggest
        self.parse = parse or pool_parse
        self.temporary = TemporaryFailures()

    async def process(
        self, raw: bytes, *, envelope_sender: str | None = None, quarantine_failures: bool = True,
        recipients: Sequence[str] = (), bounded_retries: bool = False,
    ) -> IntakeResult:
        """Store one message. Raises StorageUnavailable (temporary) and, when ``quarantine_failures``
        is off, UnparseableMail."""
        try:
            return await self._process(raw, envelope_sender, quarantine_failures, recipients)
        except TemporaryError as exc:
            # Only where the sender retries on our 4xx (SMTP/LMTP): IMAP keeps the message in its mailbox
            # and takes it again after the outage, with nobody waiting on an answer.
            if not (bounded_retries and quarantine_failures) or not self.temporary.exhausted(raw):
                raise
            log.warning("message failed temporarily %d times; quarantined", self.temporary.limit)
            result = await self._hold(raw, f"échecs temporaires répétés ({self.temporary.limit}) : {exc}"[:500])
            self.temporary.forget(raw)
            return result

    async def _process(self, raw: bytes, envelope_sender: str | None, quarantine_failures: bool,
                       recipients: Sequence[str] = ()) -> IntakeResult:
        try:
            mail = await self.parse(raw, envelope_sender)
        except UnparseableMail as exc:
            if not quarantine_failures:
                raise
            return await self._hold(raw, str(exc))
        except Exception as exc:  # a parser bug: the bytes are kept aside, the sender is not asked to retry
            log.exception("email parser failed; message quarantined")
            if not quarantine_failures:
                raise
            return await self._hold(raw, f"échec de l'analyseur : {type(exc).__name__}: {exc}"[:500])
        meta: dict[str, Any] = {}
        if envelope_sender is not None:
            meta["envelope_from"] = envelope_sender
        if mail.recipients:  # who it was sent or copied to: participants of the ticket (domain/threading.py)
            meta["recipients"] = list(mail.recipients[:50])
        try:
            if mail.bounce is not None:
                return await self._bounce(mail, raw, meta, verp_ids(recipients))
            if mail.verdict.automatic:
                meta["automatic_kind"] = mail.verdict.kind.value
                inbound = to_inbound(mail, raw, meta)
                # A read receipt (or another report) names our message without In-Reply-To: it threads
                # there, stored as automatic (never a new ticket, the status unchanged).
                extra = tuple(i for i in (*mail.original_ids, *verp_ids(recipients)) if i not in inbound.in_reply_to)
                return await self.automatic.receive(replace(inbound, in_reply_to=inbound.in_reply_to + extra))
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
            return await self._hold(raw, f"échec de l'enregistrement : {type(exc).__name__}: {exc}"[:500], mail)

    async def _bounce(self, mail: ParsedMail, raw: bytes, meta: dict[str, Any], verp: tuple[str, ...] = ()
                      ) -> IntakeResult:
        """A bounce counts only when it is about a message we sent: one of its ids (the DSN's copy of our
        headers, a VERP return path, In-Reply-To/References) is one of our outbound Message-IDs, and the
        failed address (Final- or Original-Recipient) is one we wrote to. A forged bounce marks nobody."""
        assert mail.bounce is not None
        cited = tuple(dict.fromkeys((*mail.bounce.original_ids, *mail.original_ids, *verp, *mail.in_reply_to,
                                     *mail.references)))
        written_to = await self.automatic.addresses_we_wrote_to(cited)
        failed = [r for r in mail.bounce.recipients if r.lower() in written_to]
        marked = await self.automatic.mark_bouncing(failed, mail.bounce.reason) if failed else []
        meta.update(automatic_kind="bounce", bounced=list(mail.bounce.recipients), marked=marked,
                    matched_ours=bool(written_to))
        inbound = to_inbound(mail, raw, meta)
        # A DSN names our original message: thread it there (shown to staff, status unchanged).
        inbound = replace(inbound, in_reply_to=cited)
        result = await self.automatic.receive(inbound)
        if marked:
            return replace(result, reason=f"bounce: {', '.join(marked)} marked as bouncing; {result.reason}")
        return result

    async def _suggestions(self, mail: ParsedMail) -> list[dict[str, Any]] | None:
        assert self.suggest is not None
        try:
            found = await self.suggest(f"{mail.subject}\n\n{mail.visible_text}"[:2000])  # bounded work
        except TemporaryError:
            raise
        except Exception:  # noqa: BLE001 - suggestions are a bonus; the message must go through
            log.exception("FAQ suggestions failed; acknowledging without them")
            return []
        if found is None:
            return None
        # stored in the message's meta (a wire format): plain JSON values
        return [{"id": s.id, "title": s.title, "score": s.score, "tags": list(s.tags)} for s in found][:3]

    async def _hold(self, raw: bytes, reason: str, mail: ParsedMail | None = None) -> IntakeResult:
        """Keep ``raw`` in the quarantine; if even its sender and subject cannot be stored, without them."""
        try:
            qid = await self.quarantine.hold(
                channel=Channel.EMAIL.value, raw=raw, reason=reason,
                sender=mail.sender_email if mail else None, subject=mail.subject if mail else None,
            )
        except TemporaryError:
            raise
        except Exception:
            log.exception("quarantine refused the message's details; kept without them")
            safe = reason.encode("ascii", "replace").decode("ascii")
            qid = await self.quarantine.hold(channel=Channel.EMAIL.value, raw=raw, reason=safe)
        return IntakeResult(IntakeAction.IGNORED, None, f"quarantined (#{qid}): {reason}")


def _looks_new(mail: ParsedMail) -> bool:
    return not mail.in_reply_to and not mail.references and subject_ticket_number(mail.subject) is None


def only_when(needed: Callable[[], Awaitable[bool]], search: Suggest) -> Suggest:
    """A suggester that searches only when ``needed()`` says so (a routing rule uses FAQ tags)."""

    async def suggest(text: str) -> Sequence[FaqHit] | None:
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
        mail = await pool_parse(raw, None)
        inbound = to_inbound(mail, raw, {**meta, "automatic_kind_overridden": mail.verdict.kind.value})
        return await intake.receive(replace(inbound, automatic=False, automatic_reason=None, force_new=True))

    return run

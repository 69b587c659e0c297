"""Requester sign-in: single-use links sent by mail, and requester sessions (separate from staff ones).

A link is asked for with an address; whether or not the address is known the answer is the same, and
the request is rate limited per address and per client. The token itself is minted when the mail is
*sent* (``PortalLinkSender``), never stored in clear: the Outbox row only says "a sign-in link for this
address", and the ``portal_token`` table keeps the SHA-256 of each token with its address, expiry and
first use. Mails about a ticket carry a longer-lived link of their own (purpose ``mail``), also single use.

Opening a link (GET) only shows a button; the POST consumes the token, so mail scanners that prefetch
links never burn it. Sessions are their own table and cookie; an API client gets a bearer token the same
way (POST /api/v1/portal/session with the link's token).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlmodel import col

from helpdesk.app.ratelimit import RateLimiter, Throttled
from helpdesk.app.staff.accounts import EMAIL_RE
from helpdesk.db.engine import Database
from helpdesk.db.tables import Contact, Outbox
from helpdesk.db.tables_portal import PortalSession, PortalToken
from helpdesk.domain.errors import ValidationError
from helpdesk.domain.values import Channel
from helpdesk.ports import Clock

SIGNIN_TTL = timedelta(minutes=20)
MAIL_LINK_TTL = timedelta(days=7)  # links in acknowledgements and replies: scoped to the address, single use
SESSION_IDLE = timedelta(hours=8)
SESSION_MAX = timedelta(days=7)
LINK_WINDOW = timedelta(hours=1)
LINKS_PER_ADDRESS = 5
LINKS_PER_CLIENT = 20
API_PREFIX = "hdr_"  # a requester's bearer token (staff ones start with hdk_)
TOKEN_MAX = 100


class LinkPurpose:
    SIGNIN = "signin"
    MAIL = "mail"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(value: str) -> str:
    """A typed address, lower-cased; ValidationError (French) when it is not one."""
    email = value.strip().lower()
    if not email:
        raise ValidationError("indiquez votre adresse électronique")
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise ValidationError("adresse électronique invalide")
    return email


class LinkInvalid(ValidationError):
    """The link is unknown, used already or expired (one answer for the three: nothing to learn)."""

    def __init__(self) -> None:
        super().__init__("ce lien de connexion n'est plus valable (déjà utilisé ou expiré) : demandez-en un nouveau")


@dataclass(frozen=True, slots=True)
class RequesterIdentity:
    contact_id: int
    email: str
    name: str
    organization_id: int | None
    csrf_token: str | None = None  # None for a bearer token: no form to protect


class Mailer(Protocol):
    async def send(self, payload: Mapping[str, Any]) -> None: ...


class PortalAuth:
    def __init__(self, db: Database, clock: Clock, *, public_url: str, mail_domain: str = "craig.fr") -> None:
        self.db = db
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.mail_domain = mail_domain
        self.limits = RateLimiter(db, clock)

    # ---- links ---------------------------------------------------------------------------
    async def request_link(self, email: str, client: str) -> None:
        """Queue a sign-in mail when the address is a known, reachable contact; the same (None) otherwise.

        Raises ValidationError for a malformed address and Throttled past the limits (per address, per
        client), whether or not the address is known."""
        address = normalise_email(email)
        await self.limits.check("portal-link-address", address, limit=LINKS_PER_ADDRESS, window=LINK_WINDOW)
        await self.limits.check("portal-link-client", client, limit=LINKS_PER_CLIENT, window=LINK_WINDOW)
        await self.limits.hit("portal-link-address", address)
        await self.limits.hit("portal-link-client", client)
        now = self.clock.now()
        async with self.db.transaction() as s:
            await s.execute(delete(PortalToken).where(col(PortalToken.expires_at) < now - timedelta(days=1)))
            contact = (await s.scalars(select(Contact).where(col(Contact.email) == address))).first()
            if contact is None or contact.bouncing:
                return
            payload: dict[str, Any] = {
                "to": address, "to_name": contact.name, "portal_signin": True,
                "subject": "Votre lien de connexion à l'espace demandeur",
                "text": "", "message_id": f"<signin.{secrets.token_hex(10)}@{self.mail_domain}>",
                "in_reply_to": None, "references": [], "auto_submitted": "auto-generated",
            }
            s.add(Outbox(channel=Channel.EMAIL.value, payload=payload, idempotency_key=f"portal-signin:{uuid.uuid4()}",
                         next_attempt_at=now, created_at=now))

    async def mint(self, email: str, purpose: str) -> str:
        """A new link token for ``email`` (only its digest is stored); called when a mail is sent."""
        token = secrets.token_urlsafe(32)
        now = self.clock.now()
        ttl = SIGNIN_TTL if purpose == LinkPurpose.SIGNIN else MAIL_LINK_TTL
        async with self.db.transaction() as s:
            s.add(PortalToken(token_hash=digest(token), email=email.strip().lower()[:320], purpose=purpose,
                              created_at=now, expires_at=now + ttl))
        return token

    def link(self, token: str, ticket_number: int | None = None) -> str:
        suffix = f"?demande={ticket_number}" if ticket_number is not None else ""
        return f"{self.public_url}/espace/lien/{token}{suffix}"

    # ---- sessions ------------------------------------------------------------------------
    async def sign_in(self, token: str, *, kind: str = "web") -> tuple[str, RequesterIdentity]:
        """Consume a link token (once, atomically) and open a session; LinkInvalid otherwise."""
        if not token or len(token) > TOKEN_MAX:
            raise LinkInvalid
        now = self.clock.now()
        async with self.db.transaction() as s:
            email = (await s.execute(
                update(PortalToken)
                .where(col(PortalToken.token_hash) == digest(token), col(PortalToken.used_at).is_(None),
                       col(PortalToken.expires_at) > now)
                .values(used_at=now).returning(col(PortalToken.email))
            )).scalar_one_or_none()
            if email is None:
                raise LinkInvalid
            contact = (await s.scalars(select(Contact).where(col(Contact.email) == email))).first()
            if contact is None or contact.id is None:  # erased meanwhile (RGPD)
                raise LinkInvalid
            await s.execute(delete(PortalSession).where(col(PortalSession.expires_at) < now))
            session_token = (API_PREFIX if kind == "api" else "") + secrets.token_urlsafe(32)
            csrf = secrets.token_urlsafe(24)
            s.add(PortalSession(id=digest(session_token), contact_id=contact.id, kind=kind, csrf_token=csrf,
                                created_at=now, last_seen_at=now, expires_at=now + SESSION_IDLE))
            return session_token, _identity(contact, csrf if kind == "web" else None)

    async def session(self, token: str, *, kind: str = "web") -> RequesterIdentity | None:
        """The signed-in requester for a cookie value or bearer token, sliding the idle expiry forward."""
        if not token or len(token) > TOKEN_MAX:
            return None
        now = self.clock.now()
        async with self.db.transaction() as s:
            row = await s.get(PortalSession, digest(token))
            if row is None or row.kind != kind or row.expires_at <= now or row.created_at + SESSION_MAX <= now:
                return None
            contact = await s.get(Contact, row.contact_id)
            if contact is None or not contact.email:
                return None
            if now - row.last_seen_at > timedelta(minutes=1):
                row.last_seen_at = now
                row.expires_at = min(now + SESSION_IDLE, row.created_at + SESSION_MAX)
            return _identity(contact, row.csrf_token if kind == "web" else None)

    async def sign_out(self, token: str) -> None:
        async with self.db.transaction() as s:
            await s.execute(delete(PortalSession).where(col(PortalSession.id) == digest(token)))

    async def revoke(self, email: str) -> int:
        """End every session of the requester with this address and void their unused links (a staff action,
        e.g. a lost phone); returns how many sessions ended."""
        address = normalise_email(email)
        async with self.db.transaction() as s:
            await s.execute(delete(PortalToken).where(col(PortalToken.email) == address))
            contact = (await s.scalars(select(Contact).where(col(Contact.email) == address))).first()
            if contact is None or contact.id is None:
                return 0
            ended = (await s.execute(delete(PortalSession).where(col(PortalSession.contact_id) == contact.id)
                                     .returning(col(PortalSession.id)))).all()
        return len(ended)


def _identity(contact: Contact, csrf: str | None) -> RequesterIdentity:
    assert contact.id is not None and contact.email is not None
    return RequesterIdentity(contact.id, contact.email, contact.name or contact.email, contact.organization_id, csrf)


# ---- the links in outgoing mail ---------------------------------------------------------------

SIGNIN_TEXT = """Bonjour,

Pour accéder à votre espace demandeur de l'assistance CRAIG, ouvrez ce lien puis cliquez sur « Me connecter » :

{link}

Ce lien est personnel, valable {minutes} minutes et utilisable une seule fois.
Si vous n'avez rien demandé, ignorez ce message : personne ne peut se connecter sans ce lien.

L'équipe d'assistance du CRAIG"""

MAIL_FOOTER = """

--
Suivre vos demandes en ligne : {link}
(lien personnel, valable {days} jours et utilisable une fois ; ensuite, demandez un lien sur {base}/espace)"""


class PortalLinkSender:
    """The email Outbox sender, with portal links minted at send time (their tokens are never at rest).

    A sign-in mail gets its link; a mail about a ticket (``ticket_number``) gets a footer linking to it
    in the portal. Any other mail goes through unchanged. A retried send mints a fresh token."""

    def __init__(self, inner: Mailer, auth: PortalAuth) -> None:
        self.inner = inner
        self.auth = auth

    async def send(self, payload: Mapping[str, Any]) -> None:
        out = dict(payload)
        to = str(out.get("to") or "")
        if out.pop("portal_signin", False) and to:
            token = await self.auth.mint(to, LinkPurpose.SIGNIN)
            out["text"] = SIGNIN_TEXT.format(link=self.auth.link(token),
                                             minutes=int(SIGNIN_TTL.total_seconds() // 60))
        elif out.get("ticket_number") is not None and to and not out.get("html"):
            number = int(out["ticket_number"])
            token = await self.auth.mint(to, LinkPurpose.MAIL)
            out["text"] = str(out.get("text") or "") + MAIL_FOOTER.format(
                link=self.auth.link(token, number), days=MAIL_LINK_TTL.days, base=self.auth.public_url)
        await self.inner.send(out)


__all__ = ["LinkInvalid", "PortalAuth", "PortalLinkSender", "RequesterIdentity", "Throttled"]

"""The Outbox sender for email: aiosmtplib to the relay.

4xx answers and network faults are temporary (the dispatcher retries with backoff); a 5xx answer
for the message or its recipient is permanent and shown on the ticket. An authentication failure
is our configuration, not the recipient's: temporary, so nothing is lost while it is fixed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiosmtplib

from channels.email.compose import compose
from channels.email.verp import verp_return_path
from helpdesk.ports import Clock, SendError, SystemClock


class SmtpRelaySender:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        from_name: str,
        security: str = "none",
        username: str | None = None,
        password: str | None = None,
        reply_to: str | None = None,
        timeout: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self.username, self.password = username, password
        self.from_address, self.from_name = from_address, from_name
        self.reply_to = reply_to or from_address
        self.timeout = timeout
        self.clock = clock or SystemClock()

    async def send(self, payload: Mapping[str, Any]) -> None:
        msg = compose(payload, from_address=self.from_address, from_name=self.from_name,
                      reply_to=self.reply_to, now=self.clock.now())
        try:
            await aiosmtplib.send(
                msg,
                sender=verp_return_path(self.from_address, str(payload.get("message_id") or "")),
                recipients=[str(payload["to"])],
                hostname=self.host,
                port=self.port,
                use_tls=self.security == "tls",
                start_tls=self.security == "starttls",
                username=self.username,
                password=self.password,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise SendError(f"relay authentication failed ({exc.code}): check HELPDESK_SMTP_RELAY_USER") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            permanent = bool(codes) and all(500 <= c < 600 for c in codes)
            detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            raise SendError(f"recipient refused: {detail}"[:500], permanent=permanent) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SendError(f"relay answered {exc.code} {exc.message}"[:500], permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SendError(f"relay unreachable: {type(exc).__name__}: {exc}"[:500]) from exc

"""VERP-style return paths: the envelope sender of each of our messages names its Message-ID.

A bounce comes back to ``assistance+b=<local part of the Message-ID>@craig.fr`` (the edge accepts
``+`` tags of its own addresses), so it can be matched to the message it is about even when the
report quotes none of our headers.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

VERP_TAG = "+b="  # the return path of our mail: assistance+b=<Message-ID local part>@domain (channels/email/sender.py)


def verp_return_path(from_address: str, message_id: str) -> str:
    """The envelope sender for one of our messages: bounces come back to an address naming it."""
    local, _, domain = from_address.partition("@")
    mid_local, _, mid_domain = message_id.strip().strip("<>").partition("@")
    if (not domain or mid_domain.lower() != domain.lower() or not _VERP_SAFE.fullmatch(mid_local)
            or len(local) + len(VERP_TAG) + len(mid_local) > 64):
        return from_address
    return f"{local}{VERP_TAG}{mid_local}@{domain}"


def verp_ids(recipients: Sequence[str]) -> tuple[str, ...]:
    """The Message-IDs named by VERP envelope recipients (``assistance+b=ack.12ab.1000@craig.fr``)."""
    out = []
    for rcpt in recipients:
        addr = rcpt.strip().strip("<>")
        local, _, domain = addr.rpartition("@")
        _, tag, mid_local = local.partition(VERP_TAG)
        if tag and domain and _VERP_SAFE.fullmatch(mid_local):
            out.append(f"<{mid_local}@{domain.lower()}>")
    return tuple(out)


_VERP_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,60}")

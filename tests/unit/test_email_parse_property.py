"""Property: whatever bytes arrive, the parser answers a ParsedMail or UnparseableMail, never a crash."""

from __future__ import annotations

import os
from email.message import EmailMessage

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.email.parse import ParsedMail, UnparseableMail, parse_message
from channels.email.visible_text import visible_text


def seed() -> bytes:
    m = EmailMessage()
    m["From"] = "=?iso-8859-1?Q?H=E9l=E8ne?= <helene@mairie.fr>"
    m["To"] = "assistance@craig.fr"
    m["Subject"] = "Budget primitif"
    m["Message-ID"] = "<seed@x>"
    m["In-Reply-To"] = "<a@x>"
    m.set_content("Bonjour,\n\nLe 2 mars 2026, CRAIG a écrit :\n> question\n")
    m.add_alternative("<p>Bonjour <b>!</b></p><blockquote>cité</blockquote>", subtype="html")
    m.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), maintype="image", subtype="png", filename="logo.png")
    inner = EmailMessage()
    inner["From"], inner["Subject"] = "p@gouv.fr", "Transféré"
    inner.set_content("texte transféré")
    m.add_attachment(inner)
    return m.as_bytes()


SEED = seed()
FUZZ_EXAMPLES = int(os.environ.get("EMAIL_FUZZ_EXAMPLES", "300"))  # raise it for a longer local run
TOKENS = [b"\r\n", b"\n", b"--", b"boundary=", b"Content-Type: multipart/mixed; boundary=\"", b"=?utf-8?Q?",
          b"=?x?B?", b"?=", b"charset=", b"Content-Transfer-Encoding: base64\r\n", b"quoted-printable", b"\xff\xfe",
          b"\xe9", b"filename*=utf-8''%E9", b"message/rfc822", b"multipart/report", b">", b"From: ", b"\x00"]


def check(raw: bytes) -> None:
    try:
        mail = parse_message(raw)
    except UnparseableMail as exc:
        assert str(exc)
        return
    assert isinstance(mail, ParsedMail)
    assert "@" in mail.sender_email and mail.message_id.startswith("<")
    assert isinstance(mail.visible_text, str) and isinstance(mail.full_text, str)
    for att in mail.attachments:
        assert att.filename and "/" not in att.filename and "\\" not in att.filename
        assert isinstance(att.data, bytes)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_mime_never_crashes(data: st.DataObject) -> None:
    raw = bytearray(SEED)
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
        pos = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if op == "flip" and raw:
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "cut":
            del raw[pos : pos + data.draw(st.integers(1, 200))]
        elif op == "insert":
            raw[pos:pos] = data.draw(st.sampled_from(TOKENS))
        else:
            raw[pos:pos] = raw[pos : pos + data.draw(st.integers(1, 400))]
    check(bytes(raw))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_never_crash(raw: bytes) -> None:
    check(b"From: a@b.fr\r\n" + raw)
    check(raw)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_visible_text_never_crashes_and_never_invents(text: str) -> None:
    out = visible_text(text)
    assert all(line.strip() in text for line in out.splitlines() if line.strip())

"""Parsing French mail as it arrives: charsets, RFC 2047/2231, HTML-only, attachments, forwards, TNEF."""

from __future__ import annotations

import binascii
import struct
from email.message import EmailMessage

import pytest

from channels.email.attachments import safe_filename
from channels.email.parse import UnparseableMail, parse_message

HEAD = "From: {frm}\r\nTo: assistance@craig.fr\r\nSubject: {subject}\r\nMessage-ID: <p@x>\r\n"


def build(body: bytes, *, ctype: str = "text/plain; charset=utf-8", cte: str = "8bit",
          frm: bytes = b"Sylvie <sylvie@mairie.fr>", subject: bytes = b"Budget", extra: bytes = b"") -> bytes:
    return (b"From: " + frm + b"\r\nTo: assistance@craig.fr\r\nSubject: " + subject + b"\r\nMessage-ID: <p@x>\r\n"
            + extra + b"MIME-Version: 1.0\r\nContent-Type: " + ctype.encode() + b"\r\nContent-Transfer-Encoding: "
            + cte.encode() + b"\r\n\r\n" + body)


@pytest.mark.parametrize(
    ("body", "declared"),
    [
        ("Délibération n° 12 : coût 3 € ".encode("cp1252"), "windows-1252"),
        ("Délibération n° 12 : coût 3 € ".encode("iso-8859-15"), "iso-8859-15"),
        ("Délibération n° 12 : coût 3 € ".encode(), "iso-8859-1"),  # UTF-8 mislabelled as Latin-1
        ("Délibération n° 12 : coût 3 € ".encode("cp1252"), "us-ascii"),  # 8-bit mislabelled as ASCII
        ("Délibération n° 12 : coût 3 € ".encode("cp1252"), "x-inconnu"),  # unknown charset
        ("Délibération n° 12 : coût 3 € ".encode(), "utf-8"),
    ],
)
def test_body_charsets_as_sent_in_france(body: bytes, declared: str) -> None:
    mail = parse_message(build(body, ctype=f"text/plain; charset={declared}"))
    assert mail.full_text.strip() == "Délibération n° 12 : coût 3 €"


def test_raw_8bit_headers_in_utf8_and_latin1() -> None:
    utf = parse_message(build(b"x", frm="Hélène Dupré <helene@mairie.fr>".encode(), subject="Délibération".encode()))
    assert (utf.sender_name, utf.subject) == ("Hélène Dupré", "Délibération")
    lat = parse_message(build(b"x", frm="Hélène <h@mairie.fr>".encode("latin-1"), subject="Réf.".encode("latin-1")))
    assert (lat.sender_name, lat.subject) == ("Hélène", "Réf.")


def test_raw_utf7_subject_and_name_when_the_body_is_utf7() -> None:
    raw = build(b"Bonjour", ctype="text/plain; charset=UTF-7", cte="7bit",
                frm=b'"H+AOk-l+AOg-ne" <helene+mairie-1@mairie.fr>', subject=b"D+AOk-lib+AOk-ration C++ - n+ALA- 12")
    mail = parse_message(raw)
    assert mail.sender_name == "Hélène"
    assert mail.sender_email == "helene+mairie-1@mairie.fr"  # addresses are never UTF-7 decoded
    assert mail.subject == "D+AOk-lib+AOk-ration C++ - n+ALA- 12"  # "C++ -" is not UTF-7: left as written
    clean = parse_message(build(b"x", ctype="text/plain; charset=UTF-7", cte="7bit",
                                subject=b"D+AOk-lib+AOk-ration n+ALA- 12"))
    assert clean.subject == "Délibération n° 12"
    other = parse_message(build(b"x", ctype="text/plain; charset=utf-8", subject=b"Fr+APY-sche"))
    assert other.subject == "Fr+APY-sche"  # only a UTF-7 message's headers are read as UTF-7


def test_rfc2047_words_and_rfc2231_filenames() -> None:
    m = EmailMessage()
    m["From"] = "=?iso-8859-1?Q?Fran=E7oise_M=FCller?= <francoise@mairie.fr>"
    m["To"] = "assistance@craig.fr"
    m["Subject"] = "=?utf-8?B?UHVibGljYXRpb24gZHUg?= =?utf-8?Q?budget_primitif_=E2=82=AC?="
    m["Message-ID"] = "<rfc@x>"
    m["References"] = "<a@x> <b@x>"
    m.set_content("voir pièce jointe")
    long_name = "délibération n°3 du 2 mars 2026 (budget primitif, version définitive).pdf"
    m.add_attachment(b"%PDF", maintype="application", subtype="pdf", filename=long_name)
    raw = m.as_bytes()
    assert b"filename*" in raw  # the email package encodes the name with RFC 2231 (with continuations)
    mail = parse_message(raw)
    assert mail.sender_name == "Françoise Müller" and mail.sender_email == "francoise@mairie.fr"
    assert mail.subject == "Publication du budget primitif €"
    assert mail.references == ("<a@x>", "<b@x>")
    [att] = mail.attachments
    assert att.filename == long_name
    assert att.data == b"%PDF"


def test_html_only_mail_becomes_text_and_is_sanitised() -> None:
    html = ('<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>'
            '<p onclick="steal()">Bonjour,</p><p>le fichier est <a href="javascript:evil()">ici</a> et '
            '<a href="https://data.exemple.fr/budget.csv">là</a>.</p>'
            '<blockquote>Le 2 mars 2026, CRAIG a écrit :<br>ancien message</blockquote></body></html>')
    mail = parse_message(build(html.encode(), ctype="text/html; charset=utf-8"))
    assert mail.visible_text.startswith("Bonjour,\n\nle fichier est")
    assert "ancien message" not in mail.visible_text and "ancien message" in mail.full_text
    assert "https://data.exemple.fr/budget.csv" in mail.full_text
    clean = mail.html_sanitised or ""
    assert "<script" not in clean and "onclick" not in clean and "javascript:" not in clean and "color:red" not in clean
    assert 'href="https://data.exemple.fr/budget.csv"' in clean


def test_forwarded_message_is_attached_and_its_text_kept() -> None:
    inner = EmailMessage()
    inner["From"], inner["Subject"], inner["Message-ID"] = "Préfecture <p@gouv.fr>", "Obligation", "<inner@x>"
    inner.set_content("Madame le Maire, vous devez publier vos données.")
    outer = EmailMessage()
    outer["From"], outer["To"], outer["Subject"] = "maire@commune.fr", "assistance@craig.fr", "TR: Obligation"
    outer["Message-ID"] = "<outer@x>"
    outer.set_content("Que faut-il faire ?")
    outer.add_attachment(inner)
    mail = parse_message(outer.as_bytes())
    assert [a.filename for a in mail.attachments] == ["Obligation.eml"]
    assert mail.attachments[0].content_type == "message/rfc822"
    assert mail.visible_text.startswith("Que faut-il faire ?")
    assert "vous devez publier vos données" in mail.full_text


def _tnef(body: bytes, name: bytes, data: bytes) -> bytes:
    def attr(level: int, aid: int, payload: bytes) -> bytes:
        return struct.pack("<BII", level, aid, len(payload)) + payload + struct.pack("<H", sum(payload) & 0xFFFF)

    return (struct.pack("<IH", 0x223E9F78, 1) + attr(1, 0x00089006, struct.pack("<I", 0x00010000))
            + attr(1, 0x0002800C, body + b"\x00") + attr(2, 0x00069002, b"\x00" * 14)
            + attr(2, 0x00018010, name + b"\x00") + attr(2, 0x0006800F, data))


def test_winmail_dat_is_expanded() -> None:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "a@mairie.fr", "assistance@craig.fr", "Outlook", "<t@x>"
    m.set_content("")
    m.add_attachment(_tnef(b"Bonjour depuis Outlook", b"budget.csv", b"a;b\n1;2\n"), maintype="application",
                     subtype="ms-tnef", filename="winmail.dat")
    mail = parse_message(m.as_bytes())
    assert [(a.filename, a.data) for a in mail.attachments] == [("budget.csv", b"a;b\n1;2\n")]
    assert "Bonjour depuis Outlook" in mail.full_text


def test_a_broken_winmail_dat_is_kept_as_is() -> None:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = "a@mairie.fr", "assistance@craig.fr", "Outlook", "<t2@x>"
    m.set_content("texte")
    m.add_attachment(b"not tnef", maintype="application", subtype="ms-tnef", filename="winmail.dat")
    assert [a.filename for a in parse_message(m.as_bytes()).attachments] == ["winmail.dat"]


def _uu(name: str, data: bytes) -> str:
    lines = [binascii.b2a_uu(data[i : i + 45]).decode("ascii") for i in range(0, len(data), 45)]
    return f"begin 644 {name}\n" + "".join(lines) + "`\nend\n"


def test_uuencoded_files_in_a_plain_body_become_attachments() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2
    csv = "commune;budget\nSaint-Flour;1 200 000 €\n".encode()
    body = (f"Bonjour,\n\nVoici le logo et le budget.\n\n{_uu('logo mairie.png', png)}\n"
            f"{_uu('../../etc/budget:2026.csv', csv)}\nCordialement,\nSylvie\n")
    mail = parse_message(build(body.encode(), ctype="text/plain; charset=us-ascii", cte="7bit"))
    assert [(a.filename, a.content_type, a.data) for a in mail.attachments] == [
        ("logo mairie.png", "image/png", png),
        ("budget_2026.csv", "text/csv", csv),
    ]
    assert "begin 644" not in mail.full_text
    assert mail.visible_text == "Bonjour,\n\nVoici le logo et le budget."  # the signature is dropped


@pytest.mark.parametrize(
    "body",
    [
        "Bonjour,\nbegin 644 note.txt\nvoir la note jointe\nend\nMerci\n",  # not uuencoded lines
        "Bonjour,\nbegin 644 note.txt\n#0V]N:F]U<@``\n`\nMerci\n",  # no "end" line
    ],
)
def test_a_broken_uuencoded_block_stays_in_the_text(body: str) -> None:
    mail = parse_message(build(body.encode(), ctype="text/plain; charset=utf-8", cte="8bit"))
    assert mail.attachments == ()
    assert mail.full_text.strip() == body.strip()


def test_missing_message_id_gets_a_stable_one() -> None:
    raw = b"From: a@mairie.fr\r\nSubject: x\r\n\r\ntexte\r\n"
    assert parse_message(raw).message_id == parse_message(raw).message_id
    assert parse_message(raw).message_id.endswith("@sans-message-id.invalid>")


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"juste du texte sans en-tete", b"Subject: x\r\n\r\ncorps"])
def test_input_that_cannot_become_a_ticket_says_why(raw: bytes) -> None:
    with pytest.raises(UnparseableMail):
        parse_message(raw)


def test_broken_multipart_still_gives_the_text() -> None:
    raw = build(b"--nope\r\nContent-Type: text/plain\r\n\r\nBonjour\r\n", ctype='multipart/mixed; boundary="b"')
    mail = parse_message(raw)
    assert mail.sender_email == "sylvie@mairie.fr"


@pytest.mark.parametrize(
    ("name", "ctype", "expected"),
    [
        ("../../etc/passwd", "text/plain", "passwd"),
        ("C:\\Users\\maire\\budget.xlsx", "application/octet-stream", "budget.xlsx"),
        ('bad<>:"|?*name.pdf', "application/pdf", "bad_name.pdf"),
        ("..", "application/pdf", "piece-jointe-3.pdf"),
        (None, "image/png", "piece-jointe-3.png"),
        ("=?utf-8?Q?d=C3=A9lib=C3=A9ration.pdf?=", "application/pdf", "délibération.pdf"),
        ("a" * 300 + ".csv", "text/csv", "a" * 116 + ".csv"),
    ],
)
def test_safe_filenames(name: str | None, ctype: str, expected: str) -> None:
    assert safe_filename(name, ctype, 3) == expected

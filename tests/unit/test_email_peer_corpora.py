"""The public peer corpora in ../shared/peers: every message parses, expectations hold.

Skipped cleanly when ../shared is absent. Cases we judge wrong in the corpus, or do not handle
yet, are listed in KNOWN with the reason and run as strict xfail (so a fix shows up).
"""

from __future__ import annotations

import html as html_lib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from channels.email.parse import UnparseableMail, parse_message
from channels.email.visible_text import visible_text

PEERS = Path(__file__).resolve().parents[3] / "shared" / "peers"
pytestmark = pytest.mark.skipif(not PEERS.is_dir(), reason="../shared/peers is not present on this machine")

# (corpus, case) -> why it is expected to fail. Every entry is a strict xfail.
KNOWN: dict[tuple[str, str], str] = {
    ("talon", "test_too_many_lines"): "corpus: upstream patches a line limit; 'Hi' is part of the reply",
    ("talon", "test_quotation_marker_false_positive"): "judged wrong: '>>> >>> url <<<' lines are dropped as quotes",
    ("talon", "iphone.eml"): "by design: we also drop the 'Sent from my iPhone' footer; talon keeps signatures",
    ("talon", "sparrow.eml"): "by design: we also drop the '-- ' signature; talon keeps signatures",
    **{("talon", case): "by design: we also drop a 'Regards, Name' closing; talon keeps signatures"
       for case in ("test_reply_wraps_quotations", "test_reply_wraps_nested_quotations",
                    "test_quotation_separator_takes_2_lines")},
    ("zbateson", "m1011.txt"): "corpus: the UTF-7 body is garbled at the source (Netscape 4.7: 'Fr+XKM-he' for "
                              "'Frösche'); the raw UTF-7 Subject decodes",
}


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def load(rel: str) -> Any:
    return json.loads((PEERS / rel).read_text(encoding="utf-8"))


def check_known(corpus: str, case: str, ok: bool, detail: str) -> None:
    if (corpus, case) in KNOWN:
        if ok:
            pytest.fail(f"{corpus}/{case} now passes: remove it from KNOWN")
        pytest.xfail(KNOWN[(corpus, case)])
    assert ok, detail


def _all_messages() -> list[Path]:
    if not PEERS.is_dir():
        return []
    files = [p for p in PEERS.rglob("*") if p.is_file() and p.suffix in {".eml", ".box"}]
    files += sorted((PEERS / "zbateson-mail-mime-parser/tests/_data/emails").glob("*.txt"))
    return sorted(files)


@pytest.mark.parametrize("path", _all_messages(), ids=lambda p: p.name)
def test_every_message_parses_without_crash(path: Path) -> None:
    try:
        mail = parse_message(path.read_bytes())
    except UnparseableMail as exc:  # a defined outcome (quarantine), never a crash
        pytest.fail(f"{path.name} unparseable: {exc}")
    assert mail.sender_email and "@" in mail.sender_email
    assert mail.message_id.startswith("<")


def _zbateson_cases() -> list[str]:
    return sorted(load("zbateson-mail-mime-parser/expectations.json")) if PEERS.is_dir() else []


ZB = "zbateson-mail-mime-parser/tests/_data/emails"


@pytest.mark.parametrize("name", _zbateson_cases())
def test_zbateson_sender_subject_text_attachments(name: str) -> None:
    exp = load("zbateson-mail-mime-parser/expectations.json")[name]
    mail = parse_message((PEERS / ZB / name).read_bytes())
    problems = []
    if "From" in exp:
        if mail.sender_email.lower() != exp["From"]["email"].lower():
            problems.append(f"from {mail.sender_email!r}")
        if (exp["From"].get("name") or None) != mail.sender_name:
            problems.append(f"name {mail.sender_name!r} != {exp['From'].get('name')!r}")
    if "Subject" in exp and mail.subject != " ".join(exp["Subject"].split()):
        problems.append(f"subject {mail.subject!r} != {exp['Subject']!r}")
    if "text" in exp:
        want = (PEERS / ZB / "files" / exp["text"]).read_bytes().decode("iso-8859-1")
        if norm(want) not in norm(mail.full_text):
            problems.append("plain text differs")
    elif "html" in exp and not mail.full_text.strip():
        problems.append("no text from the HTML body")
    names = {a.filename: a for a in mail.attachments}
    for filename, att in names.items():
        original = PEERS / ZB / "files" / filename
        if original.is_file() and "attachments" in exp:
            want_bytes = original.read_bytes()
            if att.content_type.startswith("text/"):
                same = norm(want_bytes.decode("iso-8859-1")) == norm(att.data.decode("iso-8859-1"))
            else:
                same = want_bytes == att.data
            if not same:
                problems.append(f"attachment {filename} bytes differ")
    if exp.get("attachments") and not mail.attachments:
        problems.append("attachments missing")
    check_known("zbateson", name, not problems, "; ".join(problems))


def _crisp_cases() -> list[str]:
    if not PEERS.is_dir():
        return []
    fx = load("crisp-email-reply-parser/expectations.json")["fixtures"]
    keys = ("visible_text_trimmed", "first_fragment_trimmed", "visible_text")
    return sorted(k for k, v in fx.items() if any(x in v for x in keys))


@pytest.mark.parametrize("name", _crisp_cases())
def test_crisp_visible_text(name: str) -> None:
    data = load("crisp-email-reply-parser/expectations.json")
    exp = data["fixtures"][name]
    want = exp.get("visible_text_trimmed") or exp.get("first_fragment_trimmed") or exp.get("visible_text")
    text = (PEERS / "crisp-email-reply-parser/test/fixtures" / name).read_text(encoding="utf-8")
    got = visible_text(text)
    check_known("crisp", name, norm(got) == norm(want), f"{got!r} != {want!r}")


def _talon_plain() -> list[tuple[str, str, str]]:
    if not PEERS.is_dir():
        return []
    seen: dict[str, int] = {}
    out = []
    for case in load("talon/expectations.json")["plain_text_cases"]:
        n = seen.get(case["test"], 0)
        seen[case["test"]] = n + 1
        out.append((f"{case['test']}#{n}", case["input"], case["expected"]))
    return out


@pytest.mark.parametrize(("case", "given", "want"), _talon_plain(), ids=[c[0] for c in _talon_plain()])
def test_talon_plain_quote_stripping(case: str, given: str, want: str) -> None:
    got = visible_text(given)
    key = case if ("talon", case) in KNOWN else case.rsplit("#", 1)[0]
    check_known("talon", key, norm(got) == norm(want), f"{got!r} != {want!r}")


def _talon_eml() -> list[str]:
    return sorted(load("talon/expectations.json")["standard_replies"]) if PEERS.is_dir() else []


@pytest.mark.parametrize("name", _talon_eml())
def test_talon_standard_replies(name: str) -> None:
    exp = load("talon/expectations.json")["standard_replies"][name]
    base = PEERS / "talon/tests/fixtures/standard_replies"
    want = exp.get("expected_reply_text") or (base / exp["expected_reply_text_file"]).read_text(encoding="utf-8")
    mail = parse_message((base / name).read_bytes())
    check_known("talon", name, norm(mail.visible_text) == norm(want), f"{mail.visible_text!r} != {want!r}")


def _talon_html() -> list[str]:
    if not PEERS.is_dir():
        return []
    return sorted(p.name for p in (PEERS / "talon/tests/fixtures/html_replies").glob("*.html"))


@pytest.mark.parametrize("name", _talon_html())
def test_talon_html_replies(name: str) -> None:
    from channels.email import html

    raw = (PEERS / "talon/tests/fixtures/html_replies" / name).read_text(encoding="utf-8", errors="replace")
    got = visible_text(html.to_text(raw))
    want = "Hi. I am fine.\n\nThanks,\nAlex"
    ok = re.sub(r"\s+", "", got) == re.sub(r"\s+", "", want)
    check_known("talon-html", name, ok, f"{got!r}")


def test_willdurand_quote_header_variants_and_zimbra() -> None:
    data = load("willdurand-EmailReplyParser/expectations.json")
    variants = data["quote_header_variants"]
    for line in variants["lines"]:
        got = visible_text(variants["template"].replace("[DATE]", line))
        assert norm(got) == norm(variants["expected_visible_text"]), line
    zimbra = data["tests/Fixtures/email_zimbra_free_fr.txt"]
    text = (PEERS / "willdurand-EmailReplyParser/tests/Fixtures/email_zimbra_free_fr.txt").read_text(encoding="utf-8")
    got = visible_text(text)
    assert all(s in got for s in zimbra["first_fragment_contains"])
    assert not any(s in got for s in zimbra["first_fragment_excludes"])
    yahoo = (PEERS / "crisp-email-reply-parser/test/fixtures/email_customer_quote_header_3.txt").read_text("utf-8")
    assert norm(visible_text(yahoo)) == norm(data["french_yahoo_quote_header"]["expected_visible_text"])


def test_glpi_charsets_and_autoreply() -> None:
    exp = load("glpi/expectations.json")
    base = PEERS / "glpi/tests/emails-tests"
    charset_cases = ("charset-evidence/01-latin1-quoted-printable.eml",
                     "charset-evidence/02-windows1252-quoted-printable.eml")
    for rel in charset_cases:
        mail = parse_message((base / rel).read_bytes())
        assert mail.subject == exp[rel]["subject"]
        assert norm(exp[rel]["body"]) in norm(mail.full_text)
    auto = parse_message((base / "27-autoreply.eml").read_bytes())
    assert auto.verdict.automatic, "a MAILER-DAEMON auto-reply must never be answered"
    for rel in ("04.1-ticket-followup-from-inreplyto.eml", "04.2-ticket-followup-from-references.eml"):
        mail = parse_message((base / rel).read_bytes())
        hints = mail.in_reply_to + mail.references
        assert any(h.startswith("<GLPI-Ticket-100.") for h in hints)
    tagged = parse_message((base / "04.3-ticket-followup-from-subject.eml").read_bytes())
    assert "[GLPI #0000101]" in tagged.subject


class _RubyLoader(yaml.SafeLoader):
    pass


_RubyLoader.add_multi_constructor("!ruby/", lambda loader, suffix, node: loader.construct_mapping(node, deep=True))


def test_zammad_dsn_is_a_bounce_with_its_recipient_and_original() -> None:
    folder = PEERS / "zammad/test/data/mail"
    box = next(folder.glob("*.box"))
    exp = yaml.load(box.with_suffix(".yml").read_text(encoding="utf-8"), Loader=_RubyLoader)  # noqa: S506
    mail = parse_message(box.read_bytes())
    assert mail.sender_email.lower() == exp["from_email"].lower()
    assert mail.subject == exp["subject"]
    assert norm(exp["body"]) in norm(mail.full_text)
    assert mail.verdict.kind.value == "bounce"
    assert mail.bounce is not None and mail.bounce.recipients == ("not_existing@znuny.com",)
    assert mail.bounce.original_ids and mail.bounce.original_ids[0].startswith("<notification.20150830145600")
    assert any(a.filename == "test [Ticket#10010].eml" for a in mail.attachments)


def test_html_entities_unescaped_in_text() -> None:
    assert html_lib.unescape("&eacute;") == "é"  # guard: the stdlib behaves as the comparisons assume

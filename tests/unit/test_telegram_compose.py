"""Escaping and splitting of bot texts: whatever characters a text holds, nothing breaks the parse mode."""

from __future__ import annotations

import html
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from telegram.error import RetryAfter

from channels.telegram import compose
from channels.telegram.sender import file_url, retry_after_seconds


def squash(text: str) -> str:
    return "".join(text.split())


def test_escape_keeps_every_character_readable() -> None:
    nasty = "<script>alert('x')</script> & _*[]()~`>#+-=|{}.! « é » 🙂"
    assert compose.esc(nasty) == "&lt;script&gt;alert('x')&lt;/script&gt; &amp; _*[]()~`&gt;#+-=|{}.! « é » 🙂"
    assert html.unescape(compose.esc(nasty)) == nasty


def test_lengths_count_utf16_code_units_like_telegram() -> None:
    assert compose.tg_len("é") == 1 and compose.tg_len("🙂") == 2


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    text = "a" * 10 + "\n\n" + "b" * 10
    assert compose.split_text(text, limit=15) == ["a" * 10, "b" * 10]
    assert compose.split_text("un deux trois quatre", limit=9) == ["un deux", "trois", "quatre"]
    assert compose.split_text("x" * 25, limit=10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_counts_the_escaped_length() -> None:
    chunks = compose.split_text("<" * 10, limit=8)  # each "<" becomes "&lt;" (4 units)
    assert chunks == ["<<", "<<", "<<", "<<", "<<"]


def test_split_never_cuts_an_emoji_in_half() -> None:
    chunks = compose.split_text("🙂" * 5, limit=4)
    assert chunks == ["🙂🙂", "🙂🙂", "🙂"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab <>&\n🙂é_*")), max_size=400), st.integers(min_value=5, max_value=60))
def test_split_property_fits_and_loses_nothing(text: str, limit: int) -> None:
    # The limit is at least the longest escaped character ("&amp;"); Telegram's is 4096.
    chunks = compose.split_text(text, limit=limit)
    assert all(compose.tg_len(compose.esc(c)) <= limit for c in chunks)
    assert all(c.strip() for c in chunks)
    assert squash("".join(chunks)) == squash(text)


def test_pack_joins_blocks_under_the_limit() -> None:
    assert compose.pack(["aaa", "bbb", "ccc"], limit=8) == ["aaa\n\nbbb", "ccc"]
    assert compose.pack(["", "x"], limit=8) == ["x"]


def test_suggestions_escape_faq_text_and_links() -> None:
    [message] = compose.suggestions([("Titre <b>", "Extrait & <i>", 'https://x.fr/faq/a"b')])
    assert "<b>Titre &lt;b&gt;</b>" in message
    assert "Extrait &amp; &lt;i&gt;" in message
    assert 'href="https://x.fr/faq/a&quot;b"' in message


def test_long_snippets_are_shortened() -> None:
    [message] = compose.suggestions([("T", "mot " * 500, "")])
    assert message.endswith("…") and compose.tg_len(message) < 400


def test_staff_reply_has_a_header_and_splits() -> None:
    parts = compose.staff_reply("x" * 5000, 1042)
    assert parts[0].startswith("<b>Réponse de l'équipe — demande n°1042</b>")
    assert all(compose.tg_len(p) <= compose.LIMIT for p in parts) and len(parts) == 2


def test_file_url_beside_the_bot_api_url() -> None:
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"
    assert file_url("http://127.0.0.1:8081/bot/") == "http://127.0.0.1:8081/file/bot"
    assert file_url("http://127.0.0.1:8081") == "http://127.0.0.1:8081/file/bot"


def test_retry_after_in_seconds_whatever_ptb_gives() -> None:
    assert retry_after_seconds(RetryAfter(7)) == 7.0
    assert retry_after_seconds(RetryAfter(timedelta(seconds=3))) == 3.0


def test_the_first_suggestion_can_show_its_full_answer_in_telegram_html() -> None:
    answer = compose.answer_html("Publiez au **format CSV** :\n\n- séparateur `;`\n- [le schéma](https://schema.data.gouv.fr)")
    assert answer is not None and "<b>format CSV</b>" in answer and "**" not in answer
    assert '<a href="https://schema.data.gouv.fr">' in answer
    [message] = compose.suggestions([("Titre", "extrait 1", ""), ("Autre", "extrait <2>", "")], [answer])
    assert "<b>format CSV</b>" in message and "extrait 1" not in message  # the first shows its answer
    assert "extrait &lt;2&gt;" in message  # the others keep their escaped extract
    assert compose.answer_html("mot " * 2000) is None  # too long for a chat message: the extract is used

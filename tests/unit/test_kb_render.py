"""An entry's Markdown rendered for email (plain text) and Telegram (its HTML subset)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from knowledge_base import KnowledgeBase
from knowledge_base.export import entry_markdown, with_wordings
from knowledge_base.loader import parse_entry
from knowledge_base.render import to_plain_text, to_telegram_html

SAMPLE = """Le **séparateur** recommandé est la *virgule* ; voir [le guide](https://guides.data.gouv.fr/csv).

## Étapes
- ouvrez le fichier dans `LibreOffice` ;
* cochez « Éditer les paramètres du filtre » ;
1. enregistrez ;
2. vérifiez sur <https://validata.fr>.

> Astuce : un montant s'écrit 1250.50 & non 1 250,50 €.

```csv
objet,montant
"<Travaux>",1250.50
```

Lien nu : https://www.data.gouv.fr/fr/datasets/. Et [https://schema.data.gouv.fr](https://schema.data.gouv.fr)."""

TELEGRAM_TAGS = {"b", "i", "u", "s", "code", "pre", "a", "blockquote", "tg-spoiler", "span"}


def test_plain_text_for_email() -> None:
    text = to_plain_text(SAMPLE)
    for mark in ("**", "`", "](", "## ", "```", "<https"):
        assert mark not in text
    assert "le guide (https://guides.data.gouv.fr/csv)" in text
    assert "\n- ouvrez le fichier dans LibreOffice ;\n- cochez" in text
    assert "\n1. enregistrez ;\n2. vérifiez sur https://validata.fr." in text
    assert "Étapes\n" in text and "Le séparateur recommandé est la virgule" in text
    assert "    objet,montant" in text  # code kept, indented
    assert "https://www.data.gouv.fr/fr/datasets/." in text
    assert "Et https://schema.data.gouv.fr." in text  # a link whose text is its URL: the bare URL once
    assert "\n\n\n" not in text


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.seen: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.add(tag)
        self.stack.append(tag)
        if tag == "a":
            assert [k for k, _ in attrs] == ["href"]

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag


def test_telegram_html_uses_only_its_tags_balanced_and_escaped() -> None:
    out = to_telegram_html(SAMPLE)
    parser = _Tags()
    parser.feed(out)
    assert parser.stack == [] and parser.seen <= TELEGRAM_TAGS
    assert "<b>séparateur</b>" in out and "<i>virgule</i>" in out and "<code>LibreOffice</code>" in out
    assert '<a href="https://guides.data.gouv.fr/csv">le guide</a>' in out
    assert "<b>Étapes</b>" in out and "• ouvrez" in out
    assert "<blockquote>Astuce : un montant s'écrit 1250.50 &amp; non 1 250,50 €.</blockquote>" in out
    assert "<pre>objet,montant\n&quot;&lt;Travaux&gt;&quot;,1250.50</pre>" in out
    assert "**" not in out and "```" not in out


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", "[x](javascript:alert(1))", "a < b & c > d",
                                     "**non fermé", "```\nbloc jamais fermé <b>"])
def test_telegram_html_never_passes_raw_markup(hostile: str) -> None:
    out = to_telegram_html(hostile)
    parser = _Tags()
    parser.feed(out)
    assert parser.stack == [] and parser.seen <= TELEGRAM_TAGS
    assert "<script" not in out and 'href="javascript' not in out


def test_every_bundled_entry_renders() -> None:
    root = Path(__file__).resolve().parents[2] / "knowledge_base" / "entries"
    kb = KnowledgeBase.load(root)
    for entry in kb.entries:
        text = to_plain_text(entry.body)
        assert "**" not in text and "](" not in text and text.strip()
        parser = _Tags()
        parser.feed(to_telegram_html(entry.body))
        assert parser.stack == [] and parser.seen <= TELEGRAM_TAGS, entry.id


def test_export_writes_accepted_wordings_back() -> None:
    root = Path(__file__).resolve().parents[2] / "knowledge_base" / "entries"
    entry = KnowledgeBase.load(root).entries[0]
    merged = with_wordings([entry], [(entry.id, "  une  formulation acceptée  "), (entry.id, entry.questions[0]),
                                     ("autre-fiche", "ignorée")])[0]
    assert merged.questions == (*entry.questions, "une formulation acceptée")
    parsed, errors = parse_entry(entry_markdown(merged), f"{entry.id}.md")
    assert errors == [] and parsed is not None
    assert parsed.questions == merged.questions and parsed.body == entry.body

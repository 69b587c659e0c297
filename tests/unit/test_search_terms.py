"""The search's terms and highlights: stems, accents, stop words, escaping."""

from __future__ import annotations

from helpdesk.app.tickets.search_terms import Term, fragment, fts5_query, highlight, terms_of


def test_terms_are_folded_stems_without_stop_words() -> None:
    assert terms_of("Les délibérations du Conseil") == (Term("deliber", True), Term("conseil", True))
    assert terms_of("PLU BAL csv") == (Term("plu", False), Term("bal", False), Term("csv", False))
    assert terms_of("de la et le") == ()
    assert terms_of("budget budgets BUDGET") == (Term("budget", True),)
    assert fts5_query(terms_of('NEAR("x" AND budget*) OR')) == '"near"* "x" "and" "budget"* "or"'


def test_short_terms_match_whole_words_long_ones_prefixes() -> None:
    plu, deliber = Term("plu", False), Term("deliber", True)
    assert plu.matches("plu") and not plu.matches("plus")
    assert deliber.matches("deliberation") and deliber.matches("deliberer") and not deliber.matches("liberer")


def test_highlight_escapes_everything_but_the_marks() -> None:
    html = highlight("<b>Délibération</b> & <script>x</script>", terms_of("délibérations"))
    assert str(html) == "&lt;b&gt;<mark>Délibération</mark>&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;"


def test_fragment_shows_the_matches_in_a_short_window() -> None:
    text = "Bonjour. " + "remplissage " * 60 + "la délibération sur le budget <img> " + "fin " * 60
    out = str(fragment(text, terms_of("budget délibération")))
    assert out.startswith("…") and out.endswith("…") and len(out) < 260
    assert "<mark>délibération</mark>" in out and "<mark>budget</mark>" in out and "&lt;img&gt;" in out
    assert str(fragment("rien à voir <i>", terms_of("budget"))) == "rien à voir &lt;i&gt;"

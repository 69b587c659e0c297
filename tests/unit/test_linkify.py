"""Web addresses in plain text become links; everything else stays escaped text."""

from __future__ import annotations

from helpdesk.web.linkify import linkify


def test_addresses_become_links_without_the_sentence_punctuation() -> None:
    html = str(linkify("Voir https://www.data.gouv.fr/fr/datasets/, puis (www.craig.fr/atelier). Merci !"))
    assert html == ('Voir <a href="https://www.data.gouv.fr/fr/datasets/" rel="noopener noreferrer" target="_blank">'
                    'https://www.data.gouv.fr/fr/datasets/</a>, puis (<a href="https://www.craig.fr/atelier" '
                    'rel="noopener noreferrer" target="_blank">www.craig.fr/atelier</a>). Merci !')


def test_query_strings_are_escaped_once_and_parentheses_inside_an_address_kept() -> None:
    html = str(linkify("https://fr.wikipedia.org/wiki/SIRET_(France)?a=1&b=<2>"))
    assert 'href="https://fr.wikipedia.org/wiki/SIRET_(France)?a=1&amp;b="' in html
    assert html.endswith("&lt;2&gt;")


def test_markup_in_the_text_is_escaped_and_javascript_is_never_a_link() -> None:
    html = str(linkify('<script>alert(1)</script> javascript:alert(1) « https://geo.craig.fr » http:// fin'))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert '<a href="https://geo.craig.fr"' in html and html.count("<a ") == 1
    assert str(linkify(None)) == "" and str(linkify("pas d'adresse")) == "pas d&#39;adresse"

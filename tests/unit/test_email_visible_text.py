"""Quote and signature stripping on the replies French local authorities actually send."""

from __future__ import annotations

import pytest

from channels.email.visible_text import visible_text

REPLY = "Merci, c'est publié.\nBonne journée"

CASES = {
    "gmail_fr": f"{REPLY}\n\nLe lun. 2 mars 2026 à 09:12, Assistance CRAIG <assistance@craig.fr> a écrit :\n"
                "> Bonjour,\n",
    "gmail_fr_wrapped": f"{REPLY}\n\nLe lun. 2 mars 2026 à 09:12, Assistance CRAIG <\nassistance@craig.fr> a écrit :\n"
                        "\n> texte\n",
    "thunderbird_fr": f"{REPLY}\n\nLe 02/03/2026 à 09:12, Assistance CRAIG a écrit :\n> Bonjour\n",
    "outlook_fr": f"{REPLY}\n\nDe : Assistance CRAIG <assistance@craig.fr>\nEnvoyé : lundi 2 mars 2026 09:12\n"
                  "À : Mairie <mairie@exemple.fr>\nObjet : [#1042] Budget\n\nBonjour,\n",
    "outlook_fr_underscores": f"{REPLY}\n\n________________________________\nDe : Assistance CRAIG\n"
                              "Envoyé : lundi\nObjet : RE: budget\n\nancien texte",
    "message_d_origine": f"{REPLY}\n\n-----Message d'origine-----\nDe : CRAIG\nObjet : budget\n\nancien texte",
    "original_message": f"{REPLY}\n\n-----Original Message-----\nFrom: CRAIG\n\nold",
    "signature_dash": f"{REPLY}\n-- \nSylvie Martin\nSecrétaire de mairie\n04 73 00 00 00",
    "iphone_fr": f"{REPLY}\n\nEnvoyé de mon iPhone\n\n> Le 2 mars 2026 à 09:12, CRAIG <a@craig.fr> a écrit :\n> x",
    "outlook_mobile": f"{REPLY}\n\nObtenir Outlook pour Android<https://aka.ms/AAb9ysg>\n",
    "gt_quoting": f"{REPLY}\n> ancien\n> texte",
    "yahoo_indented": f"{REPLY}\n\n      De : CRAIG <a@craig.fr>\n À : Mairie <m@x.fr>\n"
                      " Envoyé le : Lundi 2 mars 2026\n Objet : Re: budget\n\nancien",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_quotes_and_signatures_are_dropped(name: str) -> None:
    assert visible_text(CASES[name]) == REPLY


def test_inline_answers_below_a_quote_are_kept() -> None:
    text = "Le 2 mars 2026 à 09:12, CRAIG <a@craig.fr> a écrit :\n> Quel est votre code INSEE ?\n\n15138\n"
    assert visible_text(text) == "15138"


def test_a_forward_is_content_not_a_quote() -> None:
    text = ("Pour info, voir ci-dessous.\n\n---------- Message transféré ---------\nDe : Préfecture <p@gouv.fr>\n"
            "Date : lun. 2 mars 2026\nObjet : Obligation de publication\nÀ : mairie@x.fr\n\nMadame le Maire, ...")
    assert visible_text(text) == text.strip()


def test_prose_that_mentions_writing_is_not_a_quote_header() -> None:
    text = "Le maire a écrit au préfet la semaine dernière.\nNous attendons sa réponse."
    assert visible_text(text) == text


def test_only_quoted_text_falls_back_to_the_full_text() -> None:
    text = "> tout est cité\n> rien de neuf"
    assert visible_text(text) == text


def test_crlf_and_trailing_spaces() -> None:
    assert visible_text("Bonjour  \r\nmerci\r\n\r\n-- \r\nSig") == "Bonjour\nmerci"

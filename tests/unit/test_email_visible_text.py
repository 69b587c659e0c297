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
    # The attribution shares the reply's last line (clients that lose the line break).
    "same_line_gmail_fr": f"{REPLY} Le lun. 2 mars 2026 à 09:12, Assistance CRAIG <assistance@craig.fr> a écrit :\n"
                          "> Bonjour,\n",
    "same_line_no_quote_marks": f"{REPLY} Le lun. 2 mars 2026 à 09:12, CRAIG <a@craig.fr> a écrit :\nBonjour,\n",
    "same_line_dashes": f"{REPLY}--- Le lun. 2 mars 2026 à 09:12, Assistance CRAIG a écrit :\n> Bonjour,\n",
    "same_line_wrapped": f"{REPLY} Le lun. 2 mars 2026 à 09:12, Assistance CRAIG <\nassistance@craig.fr> a écrit :\n"
                         "\n> Bonjour,\n",
    # A link breaks the '>' sequence: the marker pushed after the link, or a bracketed link wrapped without '>'.
    "link_pushes_marker": f"{REPLY}\n\nLe 2 mars 2026 à 09:12, CRAIG <a@craig.fr> a écrit :\n\n>\n"
                          " (https://data.craig.fr/c/YzOTYz) >\n> Répondez à ce message (https://data.craig.fr/c/Yz)\n>\n",
    "link_wrapped": f"{REPLY}\n\nLe 2 mars 2026 à 09:12, CRAIG <a@craig.fr> a écrit :\n\n> [#1042] Budget\n>\n"
                    "> Voir le ticket (https://data.craig.fr/tickets/1042?action\n_jeton=3dd518)\n>\n",
    "link_wrapped_without_attribution": f"{REPLY}\n\n> Voir le jeu (https://data.craig.fr/jeux/budget\n_2026)\n"
                                        "> Cordialement\n",
    # Polymail: the sender's <address> pushed below a blank line, the verb on a line of its own.
    "address_below_blank": f"{REPLY}\n\nLe mar. 3 mars 2026 à 22:07, Jean Dupont\n\n<\n"
                           "mailto:Jean Dupont <jean@mairie.fr>\n> a écrit :\nancien texte\n",
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


def test_a_sentence_about_writing_on_the_reply_line_is_kept() -> None:
    text = "Merci. Le 3 mars, le maire a écrit :\nNous attendons la réponse du préfet."
    assert visible_text(text) == text


def test_a_same_line_split_keeps_the_sentence_before_the_attribution() -> None:
    text = ("Merci. Le Gall valide. Le lun. 2 mars 2026 à 09:12, Le Gall <lg@mairie.fr> a écrit :\n"
            "> Pouvez-vous publier ?\n")
    assert visible_text(text) == "Merci. Le Gall valide."


def test_an_answer_after_a_quoted_link_is_not_taken_for_the_link() -> None:
    text = ("Le 2 mars 2026 à 09:12, CRAIG <a@craig.fr> a écrit :\n> Est-ce bien ce lien "
            "(https://data.craig.fr/jeux/budget\nOui\n> Merci\nParfait\n")
    assert visible_text(text) == "Oui\nParfait"


SIGNED = {
    "formula_then_block": "Cordialement,\nMartine Dupuis\nSecrétaire de mairie\nMairie de Saint-Flour\n"
                          "04 71 60 00 00\nhttps://www.saint-flour.fr",
    "formula_and_name_on_one_line": "Cordialement, Martine Dupuis, Mairie de Saint-Flour, 04 71 60 00 00",
    "bien_cordialement_blank_lines": "Bien cordialement,\n\nMartine Dupuis\n\nMairie de Saint-Flour",
    "formula_alone": "Cdlt",
    "formal_french": "Veuillez agréer, Madame, Monsieur, l'expression de mes salutations distinguées.\nM. Dupuis",
    "english": "Best regards,\nMartin",
}


@pytest.mark.parametrize("name", sorted(SIGNED))
def test_a_closing_formula_and_the_lines_below_it_are_dropped(name: str) -> None:
    question = "Bonjour,\n\nComment publier notre budget ?"
    assert visible_text(f"{question}\n\n{SIGNED[name]}\n") == question
    quoted = f"{question}\n\n{SIGNED[name]}\n\nLe lun. 2 mars 2026 à 09:12, CRAIG <a@craig.fr> a écrit :\n> x\n"
    assert visible_text(quoted) == question


def test_a_closing_formula_followed_by_more_content_is_not_a_signature() -> None:
    body = ("Bonjour,\n\nCordialement vôtre n'est pas une formule ici ?\nVoici la suite :\n"
            + "\n".join(f"ligne {i} du tableau" for i in range(12)))
    assert visible_text(body) == body
    asked_after = "Merci.\n\nCordialement,\nMartine\n\nPS : pouvez-vous aussi regarder le cadastre ?"
    assert visible_text(asked_after) == asked_after  # a question below the formula is content

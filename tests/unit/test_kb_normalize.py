"""The French analyser and the reduction of emails to their question."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge_base.email_text import CONTEXT_WEIGHT, QUESTION_WEIGHT, question_text, sentences
from knowledge_base.normalize import (
    apply_phrases,
    build_phrases,
    default_analyzer,
    fold,
    load_synonyms,
    make_analyzer,
    merge_phrases,
    stem,
    words,
)

A = default_analyzer()


def test_fold_lowercases_and_removes_accents_and_ligatures() -> None:
    assert fold("Élève À ÇA Noël") == "eleve a ca noel"
    assert fold("Cœur ŒUVRE æ") == "coeur oeuvre ae"
    assert fold("l’été ‘x’") == "l'ete 'x'"


@pytest.mark.parametrize("text", ["l'open data", "l’open data", "L’OPEN DATA", "l'open-data"])
def test_elisions_with_straight_and_curly_apostrophes(text: str) -> None:
    assert A.surface(text) == ["opendata"]


@pytest.mark.parametrize(("text", "expected"), [
    ("d'été", ["ete"]),
    ("qu'un fichier", ["un", "fichier"]),
    ("j'ai", ["ai"]),
    ("jusqu'à l'INSEE", ["a", "insee"]),
    ("aujourd'hui", ["aujourd", "hui"]),  # not an elision: the d' is inside a word
])
def test_words_strip_elisions(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_stop_words_and_politeness_are_dropped() -> None:
    assert A.surface("Comment est-ce que nous pouvons le faire ?") == []
    assert A.surface("Bonjour, merci d'avance, cordialement") == []
    assert A.is_only_politeness("Bonjour Madame, merci beaucoup !")
    assert not A.is_only_politeness("Bonjour, où trouver le SIRET ?")
    assert "siret" in A.surface("Bonjour, où trouver le SIRET ?")


def test_politeness_words_are_a_separate_list() -> None:
    assert {"bonjour", "cordialement", "merci"} <= A.politeness
    assert not ({"bonjour", "cordialement", "merci"} & A.stop)


@pytest.mark.parametrize(("variant", "canonical"), [
    ("md", "métadonnées"),
    ("MD", "metadonnees"),
    ("shp", "shapefile"),
    ("dgouv", "data.gouv.fr"),
    ("data gouv", "data.gouv.fr"),
    ("BAL", "base adresse locale"),
    ("L93", "lambert 93"),
    ("EPSG:2154", "Lambert-93"),
    ("gpkg", "geopackage"),
    ("CADA", "commission d'accès aux documents administratifs"),
    ("loi Lemaire", "loi pour une République numérique"),
    ("utf8", "UTF-8"),
])
def test_synonyms_meet(variant: str, canonical: str) -> None:
    assert A.terms(variant) == A.terms(canonical)
    assert A.terms(variant)


def test_without_synonyms_abbreviations_stay_apart() -> None:
    plain = make_analyzer({})
    assert plain.terms("md") != plain.terms("métadonnées")


def test_longest_variant_wins() -> None:
    phrases = build_phrases({"base adresse nationale": ["ban"], "adresse": ["adr"], "data gouv": ["dgouv"],
                             "data gouv fr": ["data.gouv.fr"]})
    longest: dict[str, int] = {}
    for key in phrases:
        longest[key[0]] = max(longest.get(key[0], 0), len(key))
    assert apply_phrases(["la", "ban", "adr"], phrases, longest) == ["la", "base", "adresse", "nationale", "adresse"]
    assert apply_phrases(["data", "gouv", "fr", "x"], phrases, longest) == ["data", "gouv", "fr", "x"]


def test_synonyms_file_is_consistent() -> None:
    synonyms = load_synonyms()
    seen: dict[tuple[str, ...], str] = {}
    for canonical, variants in synonyms.items():
        assert variants, f"{canonical} has no variant"
        for variant in variants:
            key = tuple(words(variant))
            assert key, f"{canonical}: variant {variant!r} has no word"
            assert seen.setdefault(key, canonical) == canonical, f"{variant!r} under two canonical forms"


@pytest.mark.parametrize(("a", "b"), [
    ("données", "donnees"),
    ("délibération", "délibérations"),
    ("publiée", "publiee"),
    ("métadonnées", "metadonnée"),
    ("géographique", "GEOGRAPHIQUES"),
])
def test_stemming_joins_forms(a: str, b: str) -> None:
    assert A.terms(a) == A.terms(b)


def test_stem_leaves_numbers() -> None:
    assert stem("2154") == "2154"


@given(st.text(max_size=200))
def test_analysis_is_accent_and_case_insensitive(text: str) -> None:
    assert A.terms(text) == A.terms(fold(text))
    assert A.terms(text.upper()) == A.terms(text.lower()) or any(c in text for c in "ßİı")


@given(st.text(max_size=200))
def test_fold_is_idempotent_and_surface_words_are_clean(text: str) -> None:
    assert fold(fold(text)) == fold(text)
    for word in A.surface(text):
        assert word not in A.stop and word not in A.politeness and len(word) > 1


@given(st.text(max_size=300))
def test_sentences_never_fail(text: str) -> None:
    for s in sentences(text):
        assert s.text.strip()
        assert s.weight in (QUESTION_WEIGHT, CONTEXT_WEIGHT)


EMAIL = """Bonjour,

Nous sommes une commune de 1 200 habitants. Le maire veut publier le budget.
Comment faut-il s'y prendre pour le format ?

Bien à vous,
Jean Dupont
Secrétaire de mairie
Mairie de Saint-Exemple
06 12 34 56 78

Le mar. 4 juin 2024 à 09:12, Assistance CRAIG <assistance@craig.fr> a écrit :
> Bonjour, pour la licence choisissez la Licence Ouverte.
"""


def test_email_is_reduced_to_its_request() -> None:
    text = question_text(EMAIL)
    assert "publier le budget" in text and "format" in text
    for gone in ("Bonjour", "Bien à vous", "Dupont", "Mairie de Saint", "06 12", "Licence Ouverte", "a écrit"):
        assert gone not in text


def test_question_sentences_weigh_more_than_context() -> None:
    weights = {s.text: s.weight for s in sentences(EMAIL)}
    assert weights["Comment faut-il s'y prendre pour le format ?"] == QUESTION_WEIGHT
    assert weights["Le maire veut publier le budget."] == CONTEXT_WEIGHT
    assert QUESTION_WEIGHT > CONTEXT_WEIGHT


@pytest.mark.parametrize("separator", [
    "-----Message d'origine-----\nDe : a@b.fr\nEnvoyé : lundi\nÀ : c@d.fr\nObjet : x",
    "De : Assistance <a@b.fr>\nEnvoyé : lundi 3 juin 2024\nÀ : c@d.fr\nObjet : RE: x",
    "Le lun. 3 juin 2024 à 10:00, Assistance CRAIG <a@b.fr> a\nécrit :",
    "-- \nJean, mairie",
])
def test_quoted_parts_and_signatures_are_cut(separator: str) -> None:
    text = question_text(f"Comment publier le CSV ?\n\n{separator}\nLicence Ouverte et photocopieuse")
    assert text == "Comment publier le CSV ?"


@pytest.mark.parametrize(("message", "expected"), [
    ("Quel format ? Merci d'avance. Sylvie", "Quel format ?"),
    ("Quel format ? Merci, Julien, service informatique", "Quel format ?"),
    ("Quel format ? Cordialement, Pierre", "Quel format ?"),
    ("Merci de me dire quel format utiliser.", "Merci de me dire quel format utiliser."),  # a request, kept
    ("merci pour votre réponse", ""),
])
def test_trailing_sign_off_on_the_same_line(message: str, expected: str) -> None:
    assert question_text(message) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("bjr jsp pk ya pb avc le fichié csv ds la commune qd tjs", ["fichier", "csv", "commune"]),
    ("c koi les md inspire stp", ["metadonnees", "inspire"]),
    ("mon csv est en pt virgule", ["csv", "point", "virgule"]),
    ("Il y a des métadonnées DANS le jdd ?", ["metadonnees", "jeu", "donnees"]),
    ("la ccom publie pr nous", ["epci", "publie"]),
])
def test_sms_abbreviations_and_missing_accents(text: str, expected: list[str]) -> None:
    assert default_analyzer().surface(text) == expected


def test_domain_vocabulary_wins_and_abbreviations_chain_to_it() -> None:
    domain = build_phrases({"commune": ["mairie"]})
    general = build_phrases({"mairie": ["mairi"], "pour": ["pr"], "commune": ["cne"]})
    table = merge_phrases(domain, general)
    assert table[("mairi",)] == ("commune",)  # through the domain's canonical form
    assert table[("pr",)] == ("pour",) and table[("mairie",)] == ("commune",)


def test_mojibake_reads_as_an_encoding_problem() -> None:
    assert "encodag" in A.terms("les accents deviennent des Ã© dans le tableur")
    assert "encodag" in A.terms("lâ€™adresse")
    assert "encodag" not in A.terms("l'été à côté du château, 20 €")

"""FAQ search on a small knowledge base written by the test: ranking, analysis, abstention, suggestions."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from knowledge_base import Entry, KbLoadError, KnowledgeBase, Suggestion
from knowledge_base.evaluation import (
    Bm25Baseline,
    Question,
    evaluate,
    feedback_pairs,
    fit_calibration,
    load_questions,
    measure,
)
from knowledge_base.query import MAX_MESSAGE_CHARS
from knowledge_base.search import (
    LABEL_LIKELY,
    LABEL_POSSIBLE,
    LABEL_UNLIKELY,
    Calibration,
    UnknownPurpose,
    out_of_scope_messages,
)

SHARED_EVAL = next((p / "shared" / "eval" for p in Path(__file__).resolve().parents
                    if (p / "shared" / "eval" / "dev-questions.jsonl").exists()), Path("/nonexistent"))

ENTRIES: dict[str, tuple[str, list[str], list[str], str]] = {
    "csv-encodage-utf8": (
        "Comment enregistrer un fichier CSV en UTF-8 pour garder les accents ?",
        ["csv", "encodage", "tableur"],
        ["Les accents de mon CSV deviennent des caractères bizarres, que faire ?",
         "Comment exporter un tableau Excel en CSV UTF-8 ?",
         "Validata signale un problème d'encodage sur mon fichier"],
        "Un fichier **CSV** publié en open data doit être encodé en *UTF-8*. Dans Excel, choisissez "
        "« CSV UTF-8 (délimité par des virgules) » dans la liste des types de fichier. Avec LibreOffice Calc, "
        "cochez « Éditer les paramètres du filtre » et choisissez le jeu de caractères Unicode (UTF-8). "
        "Si les lettres accentuées s'affichent en Ã©, le fichier a été lu avec le mauvais encodage : "
        "rouvrez-le en précisant UTF-8 au lieu de l'ouvrir par double-clic.",
    ),
    "siret-trouver-collectivite": (
        "Où trouver le numéro SIRET de la commune ?",
        ["identifiants", "siret", "siren"],
        ["Quel SIRET mettre dans le fichier du budget ?",
         "Quelle différence entre SIREN et SIRET ?",
         "Le SIRET de la mairie est-il le même que celui de l'école ?"],
        "Le **SIRET** (14 chiffres) identifie un établissement ; le SIREN (9 chiffres) identifie la "
        "collectivité elle-même. Retrouvez le SIRET de la mairie sur l'annuaire des entreprises "
        "(https://annuaire-entreprises.data.gouv.fr) en cherchant le nom de la commune, puis recopiez les "
        "14 chiffres sans espace dans la colonne prévue par le schéma.",
    ),
    "metadonnees-fiche-minimale": (
        "Quelles métadonnées remplir au minimum pour décrire un jeu de données ?",
        ["metadonnees", "description", "qualite"],
        ["Que mettre dans la description d'un jeu de données ?",
         "Quels champs de la fiche sont indispensables ?",
         "Comment améliorer le score de qualité sur data.gouv.fr ?"],
        "## Les rubriques indispensables\n\n- un **titre** précis : quoi, où, quand ;\n- une description du "
        "contenu et des colonnes ;\n- la licence, la fréquence de mise à jour, la couverture temporelle et "
        "spatiale ;\n- des mots-clés.\n\nCes métadonnées alimentent le score de qualité affiché par "
        "data.gouv.fr et permettent aux réutilisateurs de trouver vos données.",
    ),
    "shapefile-fichiers-manquants": (
        "Mon shapefile ne s'ouvre pas dans QGIS, que manque-t-il ?",
        ["shapefile", "sig", "qgis"],
        ["Le prestataire m'a envoyé seulement le .shp, QGIS refuse de l'ouvrir",
         "Quels fichiers accompagnent un shapefile ?"],
        "Un shapefile n'est pas un fichier unique : le `.shp` (géométries) doit être accompagné au minimum du "
        "`.shx` (index) et du `.dbf` (attributs), et du `.prj` qui décrit la projection (Lambert 93, EPSG:2154). "
        "Demandez l'archive complète au prestataire, ou préférez le format GeoPackage (un seul fichier .gpkg).",
    ),
    "datagouv-publier-premier-jeu": (
        "Comment publier un premier jeu de données sur data.gouv.fr ?",
        ["publication", "datagouv"],
        ["Quelles étapes pour mettre en ligne un fichier sur data.gouv.fr ?",
         "Faut-il créer une organisation avant de publier ?"],
        "1. Créez un compte personnel puis rejoignez (ou créez) l'**organisation** de la collectivité.\n"
        "2. Cliquez sur « Publier sur data.gouv.fr », choisissez « Un jeu de données ».\n"
        "3. Renseignez le titre, la description, la licence (Licence Ouverte 2.0) et la fréquence de mise à jour.\n"
        "4. Ajoutez le fichier comme ressource principale, puis publiez.",
    ),
    "bal-base-adresse-locale": (
        "Comment créer la Base Adresse Locale de la commune ?",
        ["adresses", "bal"],
        ["Quel outil pour numéroter les rues et publier nos adresses ?",
         "Les secours ne trouvent pas une maison, comment corriger son adresse ?"],
        "Utilisez l'éditeur gratuit Mes Adresses (https://mes-adresses.data.gouv.fr) : créez la Base Adresse "
        "Locale (BAL) à partir des adresses existantes, corrigez les numéros et la position de chaque adresse, "
        "puis publiez-la. Elle alimente la Base Adresse Nationale, utilisée par les secours et les GPS.",
    ),
    "licence-ouverte-choisir": (
        "Quelle licence choisir pour publier les données de la collectivité ?",
        ["licence", "juridique"],
        ["Licence Ouverte ou ODbL, laquelle choisir ?",
         "Peut-on interdire l'usage commercial de nos données ?"],
        "Les administrations choisissent une licence de la liste fixée par décret : la **Licence Ouverte "
        "2.0** d'Etalab (réutilisation libre avec mention de la source) dans la plupart des cas, ou l'ODbL "
        "(partage à l'identique). Une licence interdisant l'usage commercial (Creative Commons NC) n'est pas "
        "permise pour des données publiques.",
    ),
    "cada-demande-document": (
        "Un administré demande un document administratif, que faire ?",
        ["juridique", "cada", "communication"],
        ["Quel délai pour répondre à une demande de document ?",
         "Que se passe-t-il si la mairie ne répond pas à une demande CADA ?"],
        "Le droit d'accès aux documents administratifs s'applique à toutes les collectivités. Vous avez un "
        "mois pour répondre ; le silence vaut refus et le demandeur peut saisir la CADA. Occultez les "
        "mentions protégées (vie privée, secret des affaires) avant de communiquer le document.",
    ),
}


def entry_text(entry_id: str) -> str:
    title, tags, questions, body = ENTRIES[entry_id]
    lines = ["---", f"id: {entry_id}", f"title: {json.dumps(title, ensure_ascii=False)}", f"tags: {json.dumps(tags)}",
             "questions:", *[f"  - {json.dumps(q, ensure_ascii=False)}" for q in questions], "lang: fr", "---", body]
    return "\n".join(lines) + "\n"


def write_kb(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for entry_id in ENTRIES:
        (directory / f"{entry_id}.md").write_text(entry_text(entry_id), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase.load(write_kb(tmp_path_factory.mktemp("kb") / "entries"))


def top(kb: KnowledgeBase, query: str) -> str | None:
    found = kb.search(query)
    return found[0].id if found else None


@pytest.mark.parametrize(("query", "expected"), [
    ("Comment enregistrer mon CSV en UTF-8 depuis Excel ?", "csv-encodage-utf8"),
    ("ou trouver le siret de notre mairie", "siret-trouver-collectivite"),  # no accents, no capitals
    ("OÙ TROUVER LE SIRET DE LA MAIRIE ?", "siret-trouver-collectivite"),
    ("Quelles métadonnées faut-il remplir au minimum ?", "metadonnees-fiche-minimale"),
    ("quelles metadonees remplir au minimum pour la fiche", "metadonnees-fiche-minimale"),  # typo
    ("quelles md remplir pour décrire le jeu ?", "metadonnees-fiche-minimale"),  # abbreviation
    ("c'est quoi les md ?", "metadonnees-fiche-minimale"),  # found through the synonym only
    ("mettre en ligne sur dgouv", "datagouv-publier-premier-jeu"),
    ("problème avec la l93", "shapefile-fichiers-manquants"),  # l93 -> Lambert 93
    ("j'ai reçu juste un shp, QGIS ne l'ouvre pas", "shapefile-fichiers-manquants"),  # synonym shp
    ("comment publier sur dgouv notre premier jeu de données", "datagouv-publier-premier-jeu"),
    ("comment créer la BAL de notre village ?", "bal-base-adresse-locale"),
    ("Peut-on interdire l’usage commercial de nos données ?", "licence-ouverte-choisir"),  # curly apostrophe
    ("Un habitant réclame un document administratif, quel délai pour répondre ?", "cada-demande-document"),
])
def test_finds_the_entry(kb: KnowledgeBase, query: str, expected: str) -> None:
    assert top(kb, query) == expected


@pytest.mark.parametrize("query", [
    "ma photocopieuse ne marche plus",
    "merci pour votre réponse",
    "Merci beaucoup, bonne journée !",
    "bonjour",
    "Bonjour,\n\nCordialement,\nMarie",
    "",
    "   \n  ",
    "le chauffage de la salle des fêtes est en panne depuis lundi, qui appeler ?",
    "notre tondeuse autoportée fait un bruit bizarre, vous connaissez un garagiste ?",
    "Bonjour, comment inscrire un nouvel habitant sur les listes électorales de la commune ?",
    "Bonjour, quel taux de taxe foncière la commune voisine a-t-elle voté l'an dernier ?",
])
def test_abstains_out_of_scope(kb: KnowledgeBase, query: str) -> None:
    assert kb.search(query) == []


LONG_EMAIL = """Bonjour Madame, Monsieur,

Je suis secrétaire de mairie dans une petite commune du Puy-de-Dôme (650 habitants). Nous préparons la
publication du budget en open data.

Où puis-je trouver le numéro SIRET de la commune ? Je n'ai que le SIREN sur nos courriers.

Je vous remercie par avance pour votre aide.

Bien cordialement,
Sylvie Martin
Secrétaire de mairie
Mairie de Saint-Exemple
Tél. 04 73 00 00 00

Le lun. 3 juin 2024 à 10:12, Assistance CRAIG <assistance@craig.fr> a écrit :
> Bonjour, pour la licence de vos données, choisissez la Licence Ouverte.
> Pour le shapefile, demandez les fichiers .shx et .dbf.
> Cordialement
"""

OUTLOOK_REPLY = """Les accents de notre fichier CSV sont toujours cassés après l'export, comment faire ?

Cordialement
Jean

-----Message d'origine-----
De : Assistance CRAIG <assistance@craig.fr>
Envoyé : mardi 4 juin 2024 09:12
À : mairie@example.fr
Objet : RE: licence
Pour la licence, choisissez la Licence Ouverte 2.0 ; pour la BAL, utilisez Mes Adresses.
"""


def test_long_email_with_signature_and_quoted_reply(kb: KnowledgeBase) -> None:
    assert top(kb, LONG_EMAIL) == "siret-trouver-collectivite"
    assert top(kb, OUTLOOK_REPLY) == "csv-encodage-utf8"


def test_quoted_reply_alone_does_not_drive_the_answer(kb: KnowledgeBase) -> None:
    only_thanks = "Merci pour votre réponse !\n\nLe 3 juin 2024, Assistance CRAIG a écrit :\n> " + \
        "Pour la licence, choisissez la Licence Ouverte 2.0 d'Etalab, l'ODbL est aussi possible."
    assert kb.search(only_thanks) == []


def test_suggestions_shape(kb: KnowledgeBase) -> None:
    found = kb.search("Que mettre dans la description et le titre des métadonnées de notre jeu de données ?",
                      limit=3)
    assert 1 <= len(found) <= 3
    assert all(isinstance(s, Suggestion) for s in found)
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    assert all(0.0 <= s.score <= 1.0 for s in found)
    assert len({s.id for s in found}) == len(found)
    first = found[0]
    assert first.title == kb.get(first.id).title  # type: ignore[union-attr]
    assert 0 < len(first.snippet) <= 205
    for markup in ("**", "##", "`", "](", "\n"):
        assert markup not in first.snippet
    with pytest.raises(AttributeError):
        first.score = 0.5  # type: ignore[misc]


def test_limit(kb: KnowledgeBase) -> None:
    query = "publier un jeu de données avec sa licence et ses métadonnées sur data.gouv.fr"
    assert len(kb.search(query, limit=1)) == 1
    assert kb.search(query, limit=0) == []
    assert len(kb.search(query, limit=10)) <= len(kb.entries)


def test_from_entries_matches_load(kb: KnowledgeBase) -> None:
    rebuilt = KnowledgeBase.from_entries(
        Entry(id=e.id, title=e.title, tags=e.tags, questions=e.questions, lang=e.lang, body=e.body, path=None)
        for e in kb.entries)
    for query in ("siret de la mairie", "csv utf8 accents", "ma photocopieuse ne marche plus"):
        assert rebuilt.search(query) == kb.search(query)
    assert kb.get("bal-base-adresse-locale") is not None
    assert kb.get("nope") is None


def test_duplicate_ids_are_refused(kb: KnowledgeBase) -> None:
    e = kb.entries[0]
    with pytest.raises(KbLoadError, match="duplicate id"):
        KnowledgeBase.from_entries([e, e])


def test_out_of_scope_cohort_mostly_gets_nothing_in_chat(kb: KnowledgeBase) -> None:
    cohort = out_of_scope_messages()
    assert len(cohort) >= 30
    assert sum(bool(kb.search(m)) for m in cohort) <= 0.15 * len(cohort)


def test_empty_knowledge_base_never_suggests() -> None:
    empty = KnowledgeBase.from_entries([])
    for purpose in ("staff", "chat", "mail"):
        assert empty.search("csv utf8", purpose=purpose) == []  # type: ignore[arg-type]


def test_measure_and_baseline(kb: KnowledgeBase) -> None:
    questions = [Question("où trouver le siret de la mairie ?", ("siret-trouver-collectivite",), "chat"),
                 Question("comment créer la BAL ?", ("bal-base-adresse-locale",), "chat"),
                 Question("bjr ma photocopieuse marche plus", (), "sms"),
                 Question("question pour une fiche absente", ("fiche-qui-n-existe-pas",), "sms")]
    report = evaluate(kb, questions)
    assert report.skipped == 1  # its expected entry is not in this FAQ
    chat = report.figures["engine"]["chat"]["all"]
    assert chat.answerable == 2 and chat.out_of_scope == 1
    assert chat.top_1 == 1.0 and chat.out_of_scope_given_nothing == 1.0
    assert report.figures["engine"]["chat"]["sms"].answerable == 0
    assert report.figures["bm25"]["chat"]["all"].out_of_scope_given_nothing == 0.0  # never abstains
    assert report.figures["bm25"]["mail"]["all"].out_of_scope_mailed == 1.0
    assert report.figures["engine"]["staff"]["all"].answerable_given_nothing == 0.0  # staff always sees some
    baseline = Bm25Baseline(kb.entries)
    assert baseline.rank("siret de la mairie")[0] == "siret-trouver-collectivite"
    kept = questions[:3]
    always_wrong = measure([(q, ["cada-demande-document"]) for q in kept], "mail")
    assert always_wrong.top_1 == 0.0 and always_wrong.mrr == 0.0 and always_wrong.answerable_given_nothing == 0.0
    assert always_wrong.mail_precision == 0.0 and always_wrong.out_of_scope_mailed == 1.0
    half = measure([(kept[0], ["siret-trouver-collectivite"]), (kept[1], []), (kept[2], [])], "mail")
    assert half.mail_precision == 1.0 and half.answerable_mailed == 0.5 and half.out_of_scope_mailed == 0.0


def test_purposes_come_from_one_ranking(kb: KnowledgeBase) -> None:
    query = "Quels champs de la fiche de métadonnées sont indispensables ?"
    staff = kb.search(query, purpose="staff")
    chat = kb.search(query, purpose="chat")
    mail = kb.search(query, purpose="mail")
    assert 1 <= len(staff) <= 3 and staff[0].id == "metadonnees-fiche-minimale"
    assert [s.id for s in chat] == [s.id for s in staff][: len(chat)]
    assert [s.id for s in mail] == [s.id for s in staff][: len(mail)] and len(mail) <= 2
    assert {s.label for s in staff} <= {LABEL_LIKELY, LABEL_POSSIBLE, LABEL_UNLIKELY}
    assert [s.score for s in staff] == sorted((s.score for s in staff), reverse=True)  # never above the first
    with pytest.raises(UnknownPurpose):
        kb.search(query, purpose="sms")  # type: ignore[arg-type]


def test_staff_always_sees_the_ranking_chat_and_mail_abstain(kb: KnowledgeBase) -> None:
    query = "notre tondeuse autoportée fait un bruit bizarre, le csv du garagiste est illisible"
    staff = kb.search(query, purpose="staff")
    assert staff and all(s.label in (LABEL_UNLIKELY, LABEL_POSSIBLE) for s in staff)
    assert kb.search("ma photocopieuse ne marche plus", purpose="mail") == []


def test_labels_follow_the_thresholds() -> None:
    cal = Calibration(bias=0.0, coefficients=(0.0,) * 6, chat=0.3, mail=0.8)
    assert cal.label(0.9) == LABEL_LIKELY and cal.label(0.5) == LABEL_POSSIBLE and cal.label(0.1) == LABEL_UNLIKELY


def test_mail_decides_on_the_certainty_that_the_first_entry_is_right(kb: KnowledgeBase) -> None:
    query = "Comment enregistrer un fichier CSV en UTF-8 pour garder les accents ?"
    features = kb.rank(query).features[0]
    plain = Calibration(bias=0.0, coefficients=(0.0,) * 6, chat=0.3, mail=0.8)
    assert plain.certainty(features) == plain.confidence(features) == 0.5  # no second model: the same
    sure = replace(plain, chat=0.0, right_bias=10.0, right_coefficients=(0.0,) * 6)
    doubtful = replace(sure, right_bias=-10.0)
    kb.calibration, saved = sure, kb.calibration
    try:
        mailed = kb.search(query, purpose="mail")
        assert mailed and mailed[0].label == LABEL_LIKELY
        kb.calibration = doubtful
        assert kb.search(query, purpose="mail") == [] and kb.search(query, purpose="chat")
        assert all(s.label != LABEL_LIKELY for s in kb.search(query, purpose="staff"))
    finally:
        kb.calibration = saved


def test_mail_needs_more_confidence_than_chat(kb: KnowledgeBase) -> None:
    strict = Calibration(kb.calibration.bias, kb.calibration.coefficients, chat=kb.calibration.chat, mail=0.999999)
    kb.calibration, saved = strict, kb.calibration
    try:
        query = "Comment enregistrer un fichier CSV en UTF-8 pour garder les accents ?"
        assert kb.search(query, purpose="chat")
        assert kb.search(query, purpose="mail") == []
    finally:
        kb.calibration = saved


def test_conversation_weighs_the_latest_message_most(kb: KnowledgeBase) -> None:
    first = "Bonjour, quel numéro SIRET mettre dans le fichier du budget de la commune ?"
    follow_up = "Et pour le shapefile, le prestataire n'a envoyé que le .shp, QGIS refuse de l'ouvrir"
    assert kb.search_conversation([first, follow_up])[0].id == "shapefile-fichiers-manquants"
    assert kb.search_conversation([follow_up, first])[0].id == "siret-trouver-collectivite"
    vague = "Merci, et du coup on fait comment exactement ?"  # the follow-up alone says nothing
    assert kb.search(vague, purpose="staff") == [] or kb.search(vague, purpose="chat") == []
    assert kb.search_conversation([first, vague])[0].id == "siret-trouver-collectivite"


def test_accepted_wordings_are_indexed_at_once(kb: KnowledgeBase) -> None:
    fresh = KnowledgeBase.from_entries(kb.entries)
    query = "la jauge grise à côté de notre fiche est presque vide"
    assert not fresh.search(query) or fresh.search(query)[0].id != "metadonnees-fiche-minimale"
    done = fresh.add_wordings([("metadonnees-fiche-minimale", query), ("metadonnees-fiche-minimale", query),
                               ("fiche-absente", "peu importe")])
    assert done.added == 1 and done.duplicates == 1 and done.unknown_ids == ("fiche-absente",)
    assert fresh.search(query)[0].id == "metadonnees-fiche-minimale"
    assert query in fresh.get("metadonnees-fiche-minimale").questions  # type: ignore[union-attr]
    assert fresh.wordings == {"metadonnees-fiche-minimale": (query,)}
    assert fresh.add_wordings([]).added == 0


def test_fit_calibration_separates_in_from_out(kb: KnowledgeBase) -> None:
    questions = [Question(q, (eid,), "chat") for eid, (_, _, qs, _) in ENTRIES.items() for q in qs]
    questions += [Question(q, (), "chat") for q in ("ma photocopieuse ne marche plus", "le chauffage est en panne",
                                                    "qui organise le repas des anciens ?", "merci pour votre réponse")]
    fitted = fit_calibration(kb, questions)
    assert 0.0 <= fitted.chat <= fitted.mail <= 1.0
    inside = [q for q in questions if q.expected]
    silenced = sum(fitted.confidence(r.features[0]) < fitted.chat for q in inside if (r := kb.rank(q.q)).order)
    assert silenced <= 0.03 * len(inside)
    assert len(fitted.right_coefficients) == len(fitted.coefficients)  # mail's own model of "first is right"
    assert feedback_pairs(questions)[0] == (questions[0].expected[0], questions[0].q)


@pytest.mark.skipif(not (SHARED_EVAL / "dev-questions.jsonl").exists(), reason="../shared/eval is absent")
def test_development_set_with_constants_fitted_elsewhere() -> None:
    dev = KnowledgeBase.load(SHARED_EVAL / "dev-kb")
    report = evaluate(dev, load_questions(SHARED_EVAL / "dev-questions.jsonl"))
    ours, bm25 = report.figures["engine"]["chat"]["all"], report.figures["bm25"]["chat"]["all"]
    assert ours.top_1 >= 0.85 and ours.top_3 >= 0.95 and ours.answerable_given_nothing <= 0.05
    assert ours.top_1 > bm25.top_1 and ours.mrr > bm25.mrr
    assert report.figures["engine"]["staff"]["all"].top_3 >= 0.95
    mail = report.figures["engine"]["mail"]["all"]
    assert (mail.mail_precision or 0.0) >= 0.85 and (mail.out_of_scope_mailed or 0.0) <= 0.05


def test_bundled_faq_answers_our_own_questions() -> None:
    """The bundled FAQ on questions written for it (tests/data/kb), not on the dev set."""
    root = Path(__file__).resolve().parents[2]
    kb = KnowledgeBase.load(root / "knowledge_base" / "entries")
    report = evaluate(kb, load_questions(root / "tests" / "data" / "kb" / "bundled-questions.jsonl"))
    ours, bm25 = report.figures["engine"]["chat"]["all"], report.figures["bm25"]["chat"]["all"]
    assert ours.top_1 >= 0.88 and ours.top_3 >= 0.95 and ours.answerable_given_nothing <= 0.05
    assert ours.top_1 > bm25.top_1 and ours.mrr > bm25.mrr


def test_huge_messages_are_cut_to_bounded_work(kb: KnowledgeBase) -> None:
    head = "Comment enregistrer un fichier CSV en UTF-8 pour garder les accents ? "
    huge = head + "blabla " * 200_000
    # what is read of a message is its first MAX_MESSAGE_CHARS (the encoder reads fewer still)
    cut = huge[:MAX_MESSAGE_CHARS]
    assert [s.id for s in kb.search(huge, purpose="staff")] == [s.id for s in kb.search(cut, purpose="staff")]
    assert kb.search(huge, purpose="staff")[0].id == kb.search(head, purpose="staff")[0].id
    many = [head] * 1000 + ["Où trouver le numéro SIRET de la commune ?"]
    assert kb.search_conversation(many)[0].id == "siret-trouver-collectivite"
    fresh = KnowledgeBase.from_entries(kb.entries)
    done = fresh.add_wordings([("csv-encodage-utf8", "accents cassés " * 50_000 + " ?")])
    assert done.added == 1 and all(len(w) <= 400 for ws in fresh.wordings.values() for w in ws)


def test_chat_threshold_also_keeps_the_small_faqs_answerable_questions() -> None:
    from knowledge_base.evaluation import choose_chat_threshold

    own = [Question(f"a{i}", ("x",), "chat") for i in range(40)] + [Question(f"o{i}", (), "chat") for i in range(10)]
    confidences = [0.9] * 40 + [0.5] * 10  # out of scope at 0.5: any threshold in (0.5, 0.9] silences them all
    alone = choose_chat_threshold(own, confidences)
    assert 0.5 < alone <= 0.9
    small = [Question(f"s{i}", ("x",), "chat") for i in range(20)]
    small_confidences = [0.7] * 2 + [0.95] * 18  # 10 % of them would be silenced over 0.7
    guarded = choose_chat_threshold(own, confidences, (small, small_confidences))
    assert guarded <= 0.7

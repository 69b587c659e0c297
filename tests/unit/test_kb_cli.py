"""`helpdesk kb check|search|eval` through knowledge_base.cli.main, on a knowledge base written by the test."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge_base.cli import main
from tests.unit.test_kb_search import write_kb

TODAY = datetime.now(UTC).date().isoformat()


def add_provenance(path: Path, *, sources: str = "[https://guides.data.gouv.fr/guides/guide-qualite]",
                   reviewed: str | None = TODAY) -> None:
    """Give one entry file `sources:` (and `reviewed:` unless None) just before its closing fence."""
    head, fence, body = path.read_text(encoding="utf-8").partition("\n---\n")
    extra = f"\nsources: {sources}" + (f"\nreviewed: {reviewed}" if reviewed else "")
    path.write_text(head + extra + fence + body, encoding="utf-8")


def write_sourced_kb(directory: Path) -> Path:
    write_kb(directory)
    for path in directory.glob("*.md"):
        add_provenance(path)
    return directory


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sourced_kb(tmp_path_factory.mktemp("cli") / "entries")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def assert_one_line_error(err: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("helpdesk kb: ")
    assert "Traceback" not in err


def test_check_ok(kb_dir: Path) -> None:
    code, out, err = run("check", "--kb", str(kb_dir))
    assert (code, err) == (0, "")
    assert "8 entries OK" in out


def test_check_lists_problems(kb_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "kb"
    write_kb(broken)
    (broken / "csv-encodage-utf8.md").write_text("pas de front matter\n", encoding="utf-8")
    (broken / "autre.md").write_text("---\nid: Autre\n---\ntexte\n", encoding="utf-8")
    code, out, err = run("check", "--kb", str(broken))
    assert code == 1 and out == ""
    assert "csv-encodage-utf8.md: no front matter" in err
    assert "autre.md: missing field 'title'" in err
    assert "autre.md: id 'Autre' is not a slug" in err


def test_check_refuses_entries_without_sources_one_line_each(tmp_path: Path) -> None:
    kb = write_sourced_kb(tmp_path / "kb")
    (kb / "sans-source.md").write_text("---\nid: sans-source\ntitle: T\ntags: [a]\nquestions: [q]\nlang: fr\n"
                                       "---\nRéponse.\n", encoding="utf-8")
    (kb / "liste-vide.md").write_text("---\nid: liste-vide\ntitle: T\ntags: [a]\nquestions: [q]\nlang: fr\n"
                                      f"sources: []\nreviewed: {TODAY}\n---\nRéponse.\n", encoding="utf-8")
    (kb / "casse.md").write_text("pas de front matter\n", encoding="utf-8")
    code, out, err = run("check", "--kb", str(kb))
    assert code == 1 and out == ""
    lines = err.strip().splitlines()
    assert lines[0] == "casse.md: no front matter (the file must start with '---' and close it with '---')"
    assert lines[1].startswith("liste-vide.md: no sources (add 'sources:'")
    assert lines[2].startswith("sans-source.md: no sources (add 'sources:'")
    assert lines[3] == ("warning: sans-source.md: never reviewed (add 'reviewed: YYYY-MM-DD' once checked "
                        "against its sources)")
    assert lines[-1] == f"3 problem(s) in {kb}: 1 invalid, 2 entries without sources; 1 warning(s)"


def test_check_warns_on_an_old_review_but_passes(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_kb(kb)
    paths = sorted(kb.glob("*.md"))
    add_provenance(paths[0], reviewed="2001-02-03")
    for path in paths[1:]:
        add_provenance(path)
    code, out, err = run("check", "--kb", str(kb))
    assert code == 0
    assert out.strip() == f"{len(paths)} entries OK in {kb} (1 warning(s))"
    assert err.strip() == (f"warning: {paths[0].name}: last reviewed on 2001-02-03, more than 1 year ago: "
                           "check it against its sources and update 'reviewed'")


def test_check_reports_a_bad_source_url(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    write_kb(kb)
    paths = sorted(kb.glob("*.md"))
    add_provenance(paths[0], sources="[www.cada.fr]")
    for path in paths[1:]:
        add_provenance(path)
    code, _, err = run("check", "--kb", str(kb))
    assert code == 1
    assert f"{paths[0].name}: source 'www.cada.fr' is not an http(s) URL" in err


def test_search_json_shape(kb_dir: Path) -> None:
    code, out, err = run("search", "--kb", str(kb_dir), "--json", "où trouver le SIRET de la mairie ?")
    assert (code, err) == (0, "")
    rows = json.loads(out)
    assert isinstance(rows, list) and 1 <= len(rows) <= 3
    assert all(set(row) == {"id", "title", "score", "label"} for row in rows)
    assert rows[0]["label"] in ("probable", "possible")
    assert rows[0]["id"] == "siret-trouver-collectivite"
    assert all(isinstance(r["score"], float) and 0 <= r["score"] <= 1 for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)


@pytest.mark.parametrize("query", ["ma photocopieuse ne marche plus", "merci pour votre réponse", "bonjour", ""])
def test_search_json_abstains_with_an_empty_list(kb_dir: Path, query: str) -> None:
    code, out, _ = run("search", "--kb", str(kb_dir), "--json", query)
    assert code == 0
    assert json.loads(out) == []


def test_search_limit_and_text_output(kb_dir: Path) -> None:
    query = "publier un jeu de données avec sa licence et ses métadonnées sur data.gouv.fr"
    code, out, _ = run("search", "--kb", str(kb_dir), "--json", "--limit", "1", query)
    assert code == 0 and len(json.loads(out)) == 1
    code, out, _ = run("search", "--kb", str(kb_dir), "comment créer la BAL de la commune ?")
    assert code == 0
    assert "bal-base-adresse-locale" in out.splitlines()[0]
    code, out, _ = run("search", "--kb", str(kb_dir), "ma photocopieuse ne marche plus")
    assert code == 0 and out.startswith("aucune suggestion")
    code, out, _ = run("search", "--kb", str(kb_dir), "--purpose", "staff", "--json", "ma photocopieuse est en panne")
    assert code == 0 and all(row["label"] == "peu probable" for row in json.loads(out))


def test_search_reads_standard_input(kb_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    email = "Bonjour,\n\nLes accents de mon CSV sont cassés, comment l'enregistrer en UTF-8 ?\n\nCordialement,\nJean\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(email))
    code, out, _ = run("search", "--kb", str(kb_dir), "--json", "-")
    assert code == 0
    assert json.loads(out)[0]["id"] == "csv-encodage-utf8"


def test_search_uses_the_bundled_knowledge_base_by_default() -> None:
    code, out, err = run("search", "--json", "Comment enregistrer un CSV en UTF-8 depuis Excel ?")
    assert (code, err) == (0, "")
    assert isinstance(json.loads(out), list)


def test_eval_prints_both_engines(kb_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"q": "où trouver le siret de la mairie ?", "expected": ["siret-trouver-collectivite"]},
        {"q": "comment créer la BAL ?", "expected": ["bal-base-adresse-locale"]},
        {"q": "ma photocopieuse ne marche plus", "expected": []},
    ]) + "\n", encoding="utf-8")
    code, out, err = run("eval", "--kb", str(kb_dir), "--questions", str(questions))
    assert (code, err) == (0, "")
    assert "engine" in out and "bm25" in out and "top1" in out
    assert all(f"purpose {p}" in out for p in ("staff", "chat", "mail"))
    code, out, _ = run("eval", "--kb", str(kb_dir), "--questions", str(questions), "--json")
    report = json.loads(out)
    assert set(report["figures"]) == {"engine", "bm25"} and report["skipped"] == 0
    chat = report["figures"]["engine"]["chat"]["all"]
    assert chat["top_1"] == 1.0 and chat["out_of_scope_given_nothing"] == 1.0
    assert report["figures"]["bm25"]["chat"]["all"]["out_of_scope_given_nothing"] == 0.0
    assert {"top_3", "mrr", "answerable_given_nothing", "answerable", "out_of_scope"} <= set(chat)
    assert report["figures"]["engine"]["mail"]["all"]["mail_precision"] is not None


def test_eval_reads_several_question_files_as_one(kb_dir: Path, tmp_path: Path) -> None:
    rows = [{"q": "où trouver le siret de la mairie ?", "expected": ["siret-trouver-collectivite"]},
            {"q": "ma photocopieuse ne marche plus", "expected": []}]
    first, second, both = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "ab.jsonl"
    first.write_text(json.dumps(rows[0], ensure_ascii=False) + "\n", encoding="utf-8")
    second.write_text(json.dumps(rows[1], ensure_ascii=False) + "\n", encoding="utf-8")
    both.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    code, split, err = run("eval", "--kb", str(kb_dir), "--questions", str(first), str(second), "--json")
    assert (code, err) == (0, "")
    _, whole, _ = run("eval", "--kb", str(kb_dir), "--questions", str(both), "--json")
    assert json.loads(split) == json.loads(whole)
    assert json.loads(split)["figures"]["engine"]["chat"]["all"]["out_of_scope"] == 1
    code, out, err = run("eval", "--kb", str(kb_dir), "--questions", str(both), "--feedback", str(first), str(second))
    assert (code, err) == (0, "")
    assert f"after replaying {first} + {second} as accepted wordings (1 indexed" in out  # out of scope: no wording


def test_eval_feedback_replays_wordings(kb_dir: Path, tmp_path: Path) -> None:
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text(json.dumps({"q": "la jauge grise de notre page est presque vide",
                                    "expected": ["metadonnees-fiche-minimale"], "style": "chat"}) + "\n")
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"q": "la jauge grise de la page reste presque vide, que faire",
                                     "expected": ["metadonnees-fiche-minimale"], "style": "chat"}) + "\n")
    code, out, err = run("eval", "--kb", str(kb_dir), "--questions", str(questions), "--feedback", str(feedback),
                         "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["after"]["figures"]["engine"]["staff"]["all"]["top_1"] == 1.0
    assert data["before"]["figures"]["engine"]["chat"]["all"]["top_1"] == 0.0


def test_eval_counts_an_entry_judged_to_answer_too(kb_dir: Path, tmp_path: Path) -> None:
    """The SIRET question labelled with the BAL entry is wrong, unless the SIRET entry was judged to answer it."""
    question = "où trouver le siret de la mairie ?"
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"q": question, "expected": ["bal-base-adresse-locale"]}) + "\n")
    judgments = tmp_path / "judged.jsonl"
    judgments.write_text(json.dumps({"q": question, "id": "siret-trouver-collectivite", "verdict": "yes",
                                     "why": "the same question"}) + "\n")
    _, out, _ = run("eval", "--kb", str(kb_dir), "--questions", str(questions), "--json")
    assert json.loads(out)["figures"]["engine"]["staff"]["all"]["top_1"] == 0.0
    code, out, err = run("eval", "--kb", str(kb_dir), "--questions", str(questions), "--judgments", str(judgments),
                         "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["figures"]["engine"]["staff"]["all"]["top_1"] == 1.0


@pytest.mark.parametrize("argv", [
    ("frobnicate",),
    ("search",),
    ("search", "--limit", "0", "x"),
    ("search", "--limit", "deux", "x"),
    ("eval",),
])
def test_bad_arguments_give_one_line_and_exit_1(argv: tuple[str, ...]) -> None:
    code, out, err = run(*argv)
    assert code == 1 and out == ""
    assert_one_line_error(err)


def test_bad_knowledge_base_or_questions_give_one_line_and_exit_1(kb_dir: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run("search", "--kb", str(empty), "x")
    assert code == 1
    assert_one_line_error(err)
    code, _, err = run("eval", "--kb", str(kb_dir), "--questions", str(tmp_path / "absent.jsonl"))
    assert code == 1
    assert_one_line_error(err)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"q": "x", "expected": ["n-existe-pas"]}\n{"q": oops}\n', encoding="utf-8")
    code, _, err = run("eval", "--kb", str(kb_dir), "--questions", str(bad))
    assert code == 1 and "bad.jsonl:2" in err
    assert_one_line_error(err)
    bad.write_text('{"q": "x", "expected": ["n-existe-pas"]}\n', encoding="utf-8")
    code, out, err = run("eval", "--kb", str(kb_dir), "--questions", str(bad))
    assert code == 0 and "1 question(s) skipped" in out  # written for a larger FAQ: skipped and counted


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out


def test_eval_resolves_labels_of_merged_entries(tmp_path: Path) -> None:
    kb = write_sourced_kb(tmp_path / "kb")
    path = kb / "siret-trouver-collectivite.md"
    merged = path.read_text(encoding="utf-8").replace("\nlang: fr", "\nlang: fr\nreplaces: [siret-mairie-ancien]", 1)
    path.write_text(merged, encoding="utf-8")
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"q": "où trouver le siret de la mairie ?", "expected": ["siret-mairie-ancien"]})
                         + "\n", encoding="utf-8")
    code, out, err = run("eval", "--kb", str(kb), "--questions", str(questions), "--json")
    assert (code, err) == (0, "")
    figures = json.loads(out)
    assert figures["skipped"] == 0
    assert figures["figures"]["engine"]["staff"]["all"]["top_1"] == 1.0
    code, _, err = run("check", "--kb", str(kb))
    assert code == 0, err


def test_eval_drawn_measures_small_faqs_drawn_from_the_faq(kb_dir: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"q": "où trouver le siret de la mairie ?", "expected": ["siret-trouver-collectivite"]},
        {"q": "ma photocopieuse ne marche plus", "expected": []},
    ]) + "\n", encoding="utf-8")
    code, out, err = run("eval", "--kb", str(kb_dir), "--questions", str(questions), "--drawn", "3")
    assert (code, err) == (0, "")
    assert "averaged over 3 FAQs" in out
    code, out, _ = run("eval", "--kb", str(kb_dir), "--questions", str(questions), "--drawn", "3", "--json")
    drawn = json.loads(out)["drawn"]["figures"]["engine"]["chat"]["all"]
    assert drawn["out_of_scope"] == 3  # the out-of-scope question, once per drawn FAQ


def test_draw_faqs_random_and_by_theme() -> None:
    from knowledge_base import Entry
    from knowledge_base.evaluation import draw_faqs

    entries = [Entry(id=f"{theme}-{i}", title=f"{theme} {i}", tags=(), questions=(), lang="fr", body="x")
               for theme in ("bal", "budget", "csv", "md") for i in range(5)]
    random_faqs = draw_faqs(entries, 4, size=8)
    assert all(len(faq) == 8 and len({e.id for e in faq}) == 8 for faq in random_faqs)
    themed = draw_faqs(entries, 4, size=8, themed=True)
    for faq in themed:
        themes = {e.id.split("-")[0] for e in faq}
        assert len(faq) == 10 and len(themes) == 2  # whole themes of five until eight are reached

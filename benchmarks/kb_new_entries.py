"""Do the 52 entries added on 2026-12-02 cost the questions the FAQ already answered?

Builds a knowledge-base directory WITHOUT the new entries (a copy of the bundled one minus their files),
then runs `knowledge_base.evaluation.evaluate` (the `helpdesk kb eval` machinery) with and without them on
the same questions: those whose labels are all OLD entries, plus every out-of-scope one. Questions labelled
with a new entry are left out (the smaller FAQ cannot answer them). Prints, per purpose and style, top-1,
top-3, MRR and the share of out-of-scope questions given nothing, with and without, and the difference.

    .venv/bin/python benchmarks/kb_new_entries.py --questions tests/data/kb-eval/tune.jsonl --changes
    .venv/bin/python benchmarks/kb_new_entries.py --questions tests/data/kb-eval/test.jsonl
    .venv/bin/python benchmarks/kb_new_entries.py --questions tests/data/kb-eval/test.jsonl --whole

`--whole` also counts every question of the split (those only a new entry answers included: out of scope for
the FAQ without them) by what the requester gets, a right answer, a wrong one or nothing, with and without.

`--changes` lists, question by question, what the new entries changed for chat (an old-labelled question
whose first entry is now wrong, or an out-of-scope one now answered, and which new entry took it): it
prints question texts, so it is refused on the test split (only aggregate figures may be read from it).
`--keep DIR` writes the smaller FAQ to DIR, for `helpdesk kb eval --kb DIR`. `--without-from REV` takes
the smaller FAQ from a git revision's `knowledge_base/entries` instead (e.g. the FAQ as it was before the
new entries, 9d1af4d~1) rather than from today's files minus the new ones.

Old labels still resolve after a merge through `replaces:` (`knowledge_base.loader.aliases`), on both sides.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base.evaluation import (  # noqa: E402
    ALL_STYLES,
    SHOWN,
    Figures,
    Question,
    Report,
    answerable_here,
    answered_right,
    evaluate,
    load_questions,
)
from knowledge_base.judgments import load_judgments, with_judgments  # noqa: E402
from knowledge_base.loader import aliases  # noqa: E402
from knowledge_base.search import PURPOSES, KnowledgeBase, Purpose  # noqa: E402

BUNDLED = ROOT / "knowledge_base" / "entries"
# The entries added on 2026-12-02 (commits 9d1af4d, c12f38c, 58ecd07, 93b65d9, 3ed69a2, 9afac3f):
# `git log --diff-filter=A --since=2026-12-01 --name-only -- knowledge_base/entries/`. Frozen here so that
# the measure stays the same after later commits.
NEW_ENTRIES: frozenset[str] = frozenset("""
amenagements-cyclables-donnees defibrillateurs-dae-declaration irve-bornes-recharge lieux-covoiturage-donnees
menus-restauration-collective points-eau-incendie-pei prenoms-nouveau-nes-scdl stationnement-parkings-donnees
inspire-services-visualisation-telechargement md-fiche-metadonnees-service md-fiche-serie-ou-millesime
md-format-distribution md-langue-ressource-metadonnees md-systeme-reference-coordonnees
md-type-representation-spatiale sanctions-non-publication-open-data
datagouv-modifier-fiche-jeu datagouv-repondre-discussions datagouv-ressource-lien-externe
datagouv-reutilisations-suivre datagouv-statistiques-visites-telechargements datagouv-taille-formats-fichiers
datagouv-transferer-jeu-vers-organisation
bal-certification-adresses bal-regles-numerotation cadastre-plan-parcelles-donnees-ouvertes
donnees-ign-gratuites-telecharger dvf-valeurs-foncieres epci-publier-pour-ses-communes finances-locales-ofgl-dgfip
proconnect-connexion-agents
budget-schema-version-validata carte-en-ligne-site-commune convertir-coordonnees-lambert93-wgs84
deliberations-schema-champs geocoder-adresses-tableur geoplateforme-ign-services lidar-hd-modele-numerique-terrain
pcrs-plan-corps-de-rue-simplifie schemas-scdl-liste-collectivites sig-debuter-logiciel-libre transport-horaires-gtfs
api-ou-fichier-publier arretes-municipaux-open-data classeur-plusieurs-onglets-csv controles-qualite-avant-publication
csv-retours-ligne-guillemets donnees-environnement-aarhus frequence-mise-a-jour-donnees
inventaire-donnees-avant-ouverture publier-sur-site-commune-ou-datagouv rgpd-petits-effectifs-secret-statistique
""".split())
COLUMNS = (("top_1", "top1"), ("top_3", "top3"), ("mrr", "MRR"), ("out_of_scope_given_nothing", "oos∅"))


def right_outcomes(f: Figures) -> float:
    """Share of all the questions with the right outcome: the right first entry for an answerable one,
    nothing for an out-of-scope one. It compares FAQs on the same questions even when judgments make an
    out-of-scope question answerable in one of them only."""
    total = f.answerable + f.out_of_scope
    return (f.top_1 * f.answerable + f.out_of_scope_given_nothing * f.out_of_scope) / total if total else 0.0


def old_and_out_of_scope(questions: Sequence[Question]) -> list[Question]:
    """The out-of-scope questions and those whose every label is an old entry (as written, before aliases)."""
    return [q for q in questions if not any(x in NEW_ENTRIES for x in q.expected)]


def resolve(questions: Sequence[Question], kb: KnowledgeBase) -> list[Question]:
    """Labels of merged entries mapped to the entry that absorbed them (as `helpdesk kb eval` does)."""
    moved = aliases(kb.entries)
    return [replace(q, expected=tuple(dict.fromkeys(moved.get(x, x) for x in q.expected)),
                    also=tuple(dict.fromkeys(moved.get(x, x) for x in q.also))) for q in questions]


def without_new(source: Path, target: Path) -> Path:
    """A copy of the FAQ directory `source` in `target` minus the new entries' files."""
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.md")):
        if path.stem not in NEW_ENTRIES:
            shutil.copy2(path, target / path.name)
    return target


def from_revision(revision: str, target: Path) -> Path:
    """The FAQ directory as it was at a git revision, written to `target`."""
    target.mkdir(parents=True, exist_ok=True)
    listing = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "--name-only", revision, "knowledge_base/entries/"],
                             check=True, capture_output=True, text=True).stdout.split()
    for name in listing:
        if name.endswith(".md"):
            text = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:{name}"],
                                  check=True, capture_output=True, text=True).stdout
            (target / Path(name).name).write_text(text, encoding="utf-8")
    return target


def chat_given(kb: KnowledgeBase, questions: Sequence[Question]) -> list[list[str]]:
    """The ids chat shows for each question (the same calls as `evaluate`)."""
    return [[s.id for s in kb.decide(kb.rank(q.q), SHOWN, "chat")] for q in questions]


def changes(without: KnowledgeBase, with_new: KnowledgeBase, questions: Sequence[Question]) -> list[str]:
    """One line per question whose chat outcome the new entries changed (better or worse)."""
    kept = answerable_here(resolve(questions, without), {e.id for e in without.entries})[0]
    # the same questions as the FAQ with the new entries sees them (alternative answers that are new entries)
    seen_with = {q.q: q for q in answerable_here(resolve(questions, with_new), {e.id for e in with_new.entries})[0]}
    before = chat_given(without, kept)
    after = chat_given(with_new, resolve(kept, with_new))
    lines = []
    for q, b, a in zip(kept, before, after, strict=True):
        right_with = seen_with[q.q].expected if q.q in seen_with else q.expected
        if q.expected or right_with:
            ok_b = bool(b) and b[0] in q.expected if q.expected else not b
            ok_a = bool(a) and a[0] in right_with
            if ok_b != ok_a:
                sign = "LOST" if ok_b else "won "
                lines.append(f"{sign} {q.style:<5} {q.expected[0]:<44} now {a[0] if a else '∅':<44} "
                             f"before {b[0] if b else '∅':<40} {q.q[:110]!r}")
        elif bool(a) != bool(b):
            sign = "OOS+" if a else "OOS-"
            lines.append(f"{sign} {q.style:<5} {'(out of scope)':<44} now {a[0] if a else '∅':<44} "
                         f"before {b[0] if b else '∅':<40} {q.q[:110]!r}")
    return sorted(lines)


def each_new_entry(with_new: KnowledgeBase, questions: Sequence[Question]) -> list[str]:
    """For each new entry, what removing it alone changes for chat on `questions` (positive = it costs)."""
    kept = resolve(questions, with_new)
    full = evaluate(with_new, kept, baseline=False).figures["engine"]["chat"][ALL_STYLES]
    rows = []
    for entry_id in sorted(NEW_ENTRIES & {e.id for e in with_new.entries}):
        smaller = KnowledgeBase([e for e in with_new.entries if e.id != entry_id], calibration=with_new.calibration)
        f = evaluate(smaller, resolve(questions, smaller), baseline=False).figures["engine"]["chat"][ALL_STYLES]
        deltas = [getattr(f, k) - getattr(full, k) for k, _ in COLUMNS]
        rows.append((sum(deltas[:2]) + deltas[3], entry_id, deltas))
    return [f"{cost:+.3f}  {entry_id:<46}" + "".join(f"{label} {d:+.3f}  " for (_, label), d in zip(COLUMNS, deltas,
                                                                                                   strict=True))
            for cost, entry_id, deltas in sorted(rows, reverse=True)]


def for_faq(questions: Sequence[Question], kb: KnowledgeBase) -> list[Question]:
    """Every question as this FAQ sees it: labels resolved through merges, and labels the FAQ does not hold
    dropped, so that a question only a new entry answers is out of scope for the FAQ without them (silence
    is its right outcome there)."""
    ids = {e.id for e in kb.entries}
    return [replace(q, expected=tuple(x for x in q.expected if x in ids), also=tuple(x for x in q.also if x in ids))
            for q in resolve(questions, kb)]


OUTCOMES = ("answered right", "answered wrong", "nothing")


def outcomes(kb: KnowledgeBase, questions: Sequence[Question],
             purposes: Sequence[Purpose]) -> dict[str, dict[str, int]]:
    """Per purpose, what a requester gets, counted over the questions: a right answer (`answered_right`), a
    wrong one (an out-of-scope question answered is wrong), or nothing (right for an out-of-scope question, a
    miss for an answerable one). Each question is ranked once for every purpose."""
    counts = {purpose: dict.fromkeys(OUTCOMES, 0) for purpose in purposes}
    for q in questions:
        ranked = kb.rank(q.q)
        for purpose in purposes:
            given = [s.id for s in kb.decide(ranked, SHOWN, purpose)]
            outcome = ("nothing" if not given else "answered right"
                       if answered_right(q.expected + q.also, given, purpose) else "answered wrong")
            counts[purpose][outcome] += 1
    return counts


def whole_table(without: KnowledgeBase, with_new: KnowledgeBase, questions: Sequence[Question],
                purposes: Sequence[Purpose]) -> str:
    """Every question of the split, old-labelled, new-labelled and out of scope, as each FAQ sees it."""
    seen_without, seen_with = for_faq(questions, without), for_faq(questions, with_new)
    n = len(questions)
    lines = [f"whole split ({n} questions: {sum(bool(q.expected) for q in seen_with)} answerable with the new "
             f"entries, {sum(bool(q.expected) for q in seen_without)} without them); share of questions by "
             "outcome, without → with (difference); a question only a new entry answers is out of scope for the FAQ "
             "without them"]
    before, after = outcomes(without, seen_without, purposes), outcomes(with_new, seen_with, purposes)
    for purpose in purposes:
        b, a = before[purpose], after[purpose]
        lines.append(f"{purpose:<6}" + "".join(
            f"  {k} {b[k] / n:.3f} → {a[k] / n:.3f} ({(a[k] - b[k]) / n:+.3f})" for k in OUTCOMES))
    return "\n".join(lines)


def table(without: Report, with_new: Report, purposes: Sequence[str]) -> str:
    lines = [f"{without.skipped} question(s) skipped without the new entries, {with_new.skipped} with them"]
    for purpose in purposes:
        lines.append(f"\npurpose {purpose}: without → with (difference)")
        lines.append(f"{'style':<7}{'n':>5}{'oos':>5}" + "".join(f"{label:>24}" for _, label in COLUMNS)
                     + f"{'right outcome':>24}")
        styles = list(without.figures["engine"][purpose])
        for style in [s for s in styles if s != ALL_STYLES] + [ALL_STYLES]:
            b: Figures = without.figures["engine"][purpose][style]
            a: Figures = with_new.figures["engine"][purpose][style]
            cells = [f"{getattr(b, k):.3f} → {getattr(a, k):.3f} ({getattr(a, k) - getattr(b, k):+.3f})"
                     for k, _ in COLUMNS]
            rb, ra = right_outcomes(b), right_outcomes(a)
            cells.append(f"{rb:.3f} → {ra:.3f} ({ra - rb:+.3f})")
            lines.append(f"{style:<7}{a.answerable:>5}{a.out_of_scope:>5}" + "".join(f"{c:>24}" for c in cells))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, nargs="+", required=True,
                        help="labelled splits (JSON lines), read as one")
    parser.add_argument("--kb", type=Path, default=BUNDLED, help="the FAQ with the new entries (default: bundled)")
    parser.add_argument("--without-from", metavar="REV", help="take the FAQ without them from this git revision")
    parser.add_argument("--purpose", choices=PURPOSES, action="append", help="default: chat and staff")
    parser.add_argument("--changes", action="store_true", help="list the questions whose chat outcome changed")
    parser.add_argument("--each", action="store_true",
                        help="for each new entry, what removing it alone changes for chat (slow: one FAQ each)")
    parser.add_argument("--keep", type=Path, help="write the FAQ without the new entries to this directory")
    parser.add_argument("--judgments", type=Path,
                        help="entries judged blind to answer a question too count as right (knowledge_base.judgments)")
    parser.add_argument("--whole", action="store_true",
                        help="also every question of the split by outcome (right, nothing, wrong), the questions "
                             "only a new entry answers counting as out of scope for the FAQ without them")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.changes and any(path.name.startswith("test") for path in args.questions):
        parser.error("--changes prints question texts: use it on the tune split, never on the test split")
    every = [q for path in args.questions for q in load_questions(path)]
    if args.judgments is not None:
        every = with_judgments(every, load_judgments(args.judgments))
    questions = old_and_out_of_scope(every)
    with tempfile.TemporaryDirectory() as tmp:
        target = args.keep or Path(tmp) / "entries"
        directory = from_revision(args.without_from, target) if args.without_from else without_new(args.kb, target)
        without = KnowledgeBase.load(directory)
    with_new = KnowledgeBase.load(args.kb)
    report_without = evaluate(without, resolve(questions, without), baseline=False)
    report_with = evaluate(with_new, resolve(questions, with_new), baseline=False)
    if args.json:
        print(json.dumps({"without": report_without.as_dict(), "with": report_with.as_dict()}, indent=2))
        return 0
    names = " + ".join(map(str, args.questions))
    print(f"{names}: {sum(bool(q.expected) for q in questions)} questions labelled with old entries, "
          f"{sum(not q.expected for q in questions)} out of scope; FAQ without the new entries: "
          f"{len(without.entries)} entries ({args.without_from or 'today minus the new ones'}), "
          f"with: {len(with_new.entries)}")
    print(table(report_without, report_with, args.purpose or ["chat", "staff"]))
    if args.whole:
        print()
        print(whole_table(without, with_new, every, [p for p in args.purpose or ["chat", "mail"] if p != "staff"]))
    if args.changes:
        print("\nchat outcomes the new entries changed (LOST/won: old-labelled first entry; OOS+: out of scope "
              "now answered, OOS-: now silent):")
        print("\n".join(changes(without, with_new, questions)) or "none")
    if args.each:
        print("\nremoving one new entry (top1 + top3 + oos∅ gained; positive = the entry costs the old questions):")
        print("\n".join(each_new_entry(with_new, questions)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

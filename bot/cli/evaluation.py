"""`vendorban eval [FILE] [--dir DIR]`: run the gold set, print and save metrics, gate on floors."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bot.cli.command import command
from bot.cli.index import ensure_corpus
from bot.core.config import Settings
from bot.evaluation.gold import EVAL_DIR


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", nargs="?", type=Path,
                   help="gold set YAML (default: questions.yaml in the eval folder)")
    p.add_argument("--dir", type=Path, default=EVAL_DIR, dest="eval_dir", metavar="DIR",
                   help="the eval folder: questions.yaml, floors.yaml, pages/ (default: the "
                        "repository's eval/ beside the installed package, whatever the cwd)")
    p.add_argument("--split", choices=["dev", "test", "all"], default="all")
    p.add_argument("--json", type=Path, help="where to write the JSON results")
    p.add_argument("--gate", action="store_true", help="exit 1 when a metric is below its floor")
    p.add_argument("--calibrate", action="store_true", help="sweep the abstention threshold")
    p.add_argument("--use-index", action="store_true",
                   help="use the configured index instead of a fresh one built from the corpus")
    p.add_argument("--verbose-items", action="store_true", help="list the items that lost points")
    p.add_argument("--set", choices=["gold", "pages"], default="gold", dest="which",
                   help="gold: the shipped corpus's gold set; pages: the real-page dev set "
                        "(texts cached by eval/pages/rebuild.py), next to a naive baseline")


@command("eval", "measure answer quality on the gold question set", _args)
def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.assistant import Assistant
    from bot.evaluation import runner
    from bot.evaluation.gold import load_gold
    from bot.evaluation.metrics import summarise

    if args.which == "pages":
        from bot.evaluation.page_run import run_pages

        return run_pages(settings, verbose=args.verbose_items, out=args.json,
                         folder=args.eval_dir / "pages")
    items = load_gold(args.file or args.eval_dir / "questions.yaml", args.split)
    with tempfile.TemporaryDirectory(prefix="vendorban-eval-") as tmp:
        if not args.use_index:
            settings = settings.model_copy(update={"data_dir": Path(tmp), "chroma_url": "",
                                                   "corpus_dir": corpus_for(settings, args)})
        ensure_corpus(settings)
        assistant = Assistant(settings)
        if args.calibrate:
            dev = [i for i in items if i.split == "dev"] or items
            for row in runner.calibrate(dev, assistant, [x / 100 for x in range(10, 62, 4)]):
                print(row)
            return 0
        results = runner.run(items, assistant)
    metrics = {"split": args.split, "answerer": settings.answerer, **summarise(results)}
    print(runner.table(metrics))
    if args.verbose_items:
        print("\n".join(runner.failures_report(results)))
    out = args.json or settings.data_dir / f"eval-{args.split}.json"
    runner.write_json(out, metrics, results)
    print(f"results written to {out}")
    if args.gate:
        failures = runner.check_floors(metrics, args.eval_dir / "floors.yaml")
        for failure in failures:
            print(f"below floor: {failure}", file=sys.stderr)
        return 1 if failures else 0
    return 0


def corpus_for(settings: Settings, args: argparse.Namespace) -> Path:
    """The corpus a fresh eval index is built from: the configured one when set, otherwise the
    corpus the gold set was written for, beside the eval folder (not the working directory's)."""
    if "corpus_dir" in settings.model_fields_set:
        return settings.corpus_dir
    return args.eval_dir.resolve().parent / "corpus"

"""`vendorban eval --set pages`: the real-page dev set, our answers next to the naive baseline."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from bot.core.assistant import Assistant
from bot.core.config import Settings
from bot.evaluation import pages as pageset
from bot.evaluation import runner
from bot.evaluation.baseline import langchain_store
from bot.evaluation.metrics import judge, summarise


def run_pages(settings: Settings, verbose: bool = False, out: Path | None = None,
              folder: Path = pageset.PAGES_DIR) -> int:
    """Index the cached pages in a temporary data dir, ask every question, score both answerers."""
    from ingest.pipeline import ingest_documents

    found, missing = pageset.load_pages(settings.data_dir, folder)
    if missing:
        print(f"{len(missing)} listed pages are not cached (run: python eval/pages/rebuild.py); "
              f"evaluating the {len(found)} that are", file=sys.stderr)
    if not found:
        return 1
    items = pageset.load_questions(folder)
    with tempfile.TemporaryDirectory(prefix="vendorban-pages-") as tmp:
        local = settings.model_copy(update={"data_dir": Path(tmp), "chroma_url": ""})
        started = time.perf_counter()
        report = ingest_documents([pageset.as_document(p) for p in found], local, progress=False)
        print(f"indexed {len(found)} pages: {report.summary()} "
              f"({time.perf_counter() - started:.1f} s)")
        assistant = Assistant(local)
        ours = runner.run(items, assistant)
        db = langchain_store(local, assistant.store.client)
        naive = [judge(i, pageset.naive_answer(i.question, db), [], 0.0) for i in items]
    table = {"ours": {**summarise(ours), **pageset.page_metrics(ours)},
             "naive top chunk": {**summarise(naive), **pageset.page_metrics(naive)}}
    attribution = pageset.score_attribution(found, folder)
    _print(table, attribution, len(items))
    if verbose:
        print("\n".join(runner.failures_report(ours)))
        unsupported = [r.item.id for r in ours
                       if r.item.answerable and not pageset.cites_support(r)]
        print(f"no supporting page cited: {' '.join(unsupported) or 'none'}")
        print("\n".join(attribution["mistakes"]))
    path = out or settings.data_dir / "eval-pages.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"metrics": table, "attribution": attribution}, indent=2),
                    encoding="utf-8")
    print(f"results written to {path}")
    return 0


KEYS = ("key_fact_in_answer", "all_key_facts", "key_fact_recall", "supporting_page_cited",
        "what_said_right", "unanswerable_declined", "wrong_speaker", "recall_at_5", "mrr",
        "citation_precision", "latency_p50_ms", "latency_p95_ms")


def _print(table: dict, attribution: dict, n: int) -> None:
    print(f"real-page dev set: {n} questions")
    print(f"{'metric':<24}{'ours':>12}{'naive top chunk':>18}")
    for key in KEYS:
        print(f"{key:<24}{table['ours'][key]!s:>12}{table['naive top chunk'][key]!s:>18}")
    shown = {k: v for k, v in attribution.items() if k != "mistakes"}
    print("attribution: " + ", ".join(f"{k} {v}" for k, v in shown.items()))

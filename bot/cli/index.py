"""`vendorban ingest`, `reindex` and `sources`: what is in the index (thin adapter over ingest)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.command import command
from bot.core.config import Settings


def _ingest_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files, folders or http(s) URLs (default: the corpus folder)")
    p.add_argument("--feed", action="append", default=[], metavar="URL",
                   help="an RSS/Atom feed whose linked articles are ingested (repeatable)")
    p.add_argument("--prune", action="store_true", help="remove documents whose file is gone")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


@command("ingest", "add or update documents in the index", _ingest_args)
def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.pipeline import ingest
    from ingest.sources import is_url

    paths: list[Path | str] = [p if is_url(p) else Path(p) for p in args.paths]
    if not paths and not args.feed:
        paths = [settings.corpus_dir]
    report = ingest(paths, settings, prune=args.prune, progress=False if args.quiet else None,
                    feeds=args.feed)
    if report.chunks_embedded or report.unchanged:
        from bot.core.onnx_export import ensure_export

        ensure_export(settings)  # once per data dir: later `ask`/`serve` can skip torch
    for _, message in report.skipped:
        print(f"warning: {message}", file=sys.stderr)
    for _, message in report.failed:
        print(f"error: {message}", file=sys.stderr)
    for message in report.alerts_failed:  # reported, but the ingest itself succeeded
        print(f"warning: {message}", file=sys.stderr)
    print(report.summary())
    return 1 if report.failed else 0


def _reindex_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true",
                   help="rebuild even when the index already has the current layout")


@command("reindex", "rebuild the index with the current HNSW and filter layout (no re-embedding)",
         _reindex_args)
def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.store import Store

    store = Store(settings)
    outdated = store.outdated_layout()
    if not outdated and not args.force:
        print("The index already has the current layout; nothing to do (--force rebuilds anyway).")
        return 0
    for difference in outdated:
        print(f"outdated: {difference}")
    total = store.count()
    step = max(1000, total // 20)

    def progress(done: int) -> None:
        if done == total or done % step < 1000:
            print(f"copied {done:,} of {total:,} chunks", file=sys.stderr, flush=True)

    copied = store.rebuild(progress)
    settings_text = ", ".join(f"{k} {v}" for k, v in settings.hnsw.items() if k != "space")
    print(f"Rebuilt the index: {copied:,} chunks, {settings_text}, integer filter flags.")
    return 0


def ensure_corpus(settings: Settings) -> None:
    """Ingest the sample corpus when the index is empty, saying so."""
    from bot.core.store import Store
    from ingest.pipeline import ingest

    store = Store(settings)
    if store.count() == 0:
        print(f"The index is empty: ingesting {settings.corpus_dir}/ first...", file=sys.stderr)
        report = ingest([settings.corpus_dir], settings, store=store)
        print(report.summary(), file=sys.stderr)
    from bot.core.onnx_export import ensure_export

    ensure_export(settings)


@command("sources", "list the documents in the index",
         lambda p: p.add_argument("search", nargs="?"))
def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.assistant import Assistant

    for row in Assistant(settings).sources(args.search):
        print(f"{row['published'] or 'undated':10}  {row['outlet'][:28]:28}  {row['title'][:70]}")
    return 0

"""The `vendorban` command line: ingest, ask, chat, and the servers (thin adapter over the core)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bot.core.config import Settings, load_settings
from bot.core.errors import BotError
from ingest.documents import KINDS

log = logging.getLogger("vendorban")
Command = Callable[[argparse.Namespace, Settings], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}


def command(name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register a sub-command: its handler, its arguments and its one-line help."""
    def decorate(func: Command) -> Command:
        COMMANDS[name] = (func, configure, help_text)
        return func
    return decorate


def add_filter_args(parser: argparse.ArgumentParser) -> None:
    """--country/--vendor/--kind/--since/--until, shared by ask-like commands."""
    parser.add_argument("--country", help="only sources about this country")
    parser.add_argument("--vendor", help="only sources about this vendor (Huawei, ZTE...)")
    parser.add_argument("--kind", choices=KINDS, help="only this kind")
    parser.add_argument("--since", type=partial_date,
                        help="published on/after YYYY-MM-DD (or YYYY-MM, YYYY)")
    parser.add_argument("--until", type=partial_date,
                        help="published on/before YYYY-MM-DD (or YYYY-MM, YYYY)")


def partial_date(value: str):  # noqa: ANN201
    """A full or partial date (argparse turns the ValueError into a usage error)."""
    from bot.core.dates import parse_partial_date

    found = parse_partial_date(value)
    if found is None:
        raise ValueError(value)
    return found


def filters_from(args: argparse.Namespace):  # noqa: ANN201
    from bot.core.retrieval import Filters

    return Filters(country=args.country, vendor=args.vendor, kind=args.kind,
                   since=args.since, until=args.until)


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


def _ask_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("question", help="your question, in quotes")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    add_filter_args(p)


@command("ask", "answer one question with citations", _ask_args)
def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.assistant import Assistant
    from bot.core.usage import UsageLog, ask_recorded
    from bot.render.data import answer_to_dict
    from bot.render.text import render_text

    answer, answer_id = ask_recorded(Assistant(settings), UsageLog(settings), args.question,
                                     filters_from(args), "cli")
    print(json.dumps(answer_to_dict(answer) | {"answer_id": answer_id}, indent=2) if args.json
          else render_text(answer))
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


@command("chat", "ask questions interactively in the terminal", lambda p: None)
def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    import secrets

    from bot.core.assistant import Assistant
    from bot.core.conversation_store import Conversations, ask_followup
    from bot.core.usage import UsageLog
    from bot.render.text import render_text

    ensure_corpus(settings)
    assistant, usage = Assistant(settings), UsageLog(settings)
    conversations, session = Conversations(settings), f"cli:{secrets.token_hex(8)}"
    print("Ask about government bans on telecom vendors (empty line or Ctrl-D to quit).")
    while True:
        try:
            question = input("\n> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question:
            return 0
        try:
            answer, _, turn = ask_followup(assistant, usage, conversations, session, question,
                                           platform="cli")
            if turn.standalone != turn.question:  # show what a follow-up was taken to mean
                print(f"({turn.standalone})")
            print(render_text(answer))
        except BotError as exc:
            print(f"error: {exc}")


@command("sources", "list the documents in the index",
         lambda p: p.add_argument("search", nargs="?"))
def cmd_sources(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.assistant import Assistant

    for row in Assistant(settings).sources(args.search):
        print(f"{row['published'] or 'undated':10}  {row['outlet'][:28]:28}  {row['title'][:70]}")
    return 0


# Modules that register more sub-commands with @command (front ends, feeds, eval, bench).
COMMAND_MODULES: tuple[str, ...] = (
    "bot.evaluation.cli", "bot.cli_sources", "bot.discord_bot.cli", "bot.server.cli",
    "bot.onnx_cli", "bot.usage_cli", "bot.alerts_cli", "bot.server.slack_cli",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = argparse.ArgumentParser(prog="vendorban", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subs = parser.add_subparsers(dest="command", required=True)
    for name, (_, configure, help_text) in COMMANDS.items():
        configure(subs.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `vendorban` script: known errors become one line and exit status 1."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command][0](args, load_settings())
    except BotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:
        log.exception("unexpected error")
        return 2


if __name__ == "__main__":  # `python -m bot.cli`: run the importable module, not __main__'s copy
    from bot.cli import main as package_main

    sys.exit(package_main())

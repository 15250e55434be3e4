"""`vendorban ask` and `vendorban chat`: questions from the terminal, with the filter options."""

from __future__ import annotations

import argparse
import json

from bot.cli.command import command
from bot.cli.index import ensure_corpus
from bot.core.config import Settings
from bot.core.errors import BotError
from ingest.documents import KINDS


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

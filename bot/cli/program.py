"""The `vendorban` command line: ingest, ask, chat, and the servers (thin adapter over the core)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from bot.cli import (
    alerts,
    ask,
    discord_bot,
    evaluation,
    index,
    onnx,
    serve,
    slack,
    sources,
    usage,
)
from bot.cli.command import Command
from bot.core.config import load_settings
from bot.core.errors import BotError

log = logging.getLogger("vendorban")
# The command groups, in the order `vendorban --help` lists them. Each module's Command objects
# are its sub-commands; importing a module registers nothing (heavy imports wait for the handler).
MODULES = (index, ask, sources, serve, slack, discord_bot, evaluation, onnx, usage, alerts)


def commands() -> dict[str, Command]:
    """Every sub-command by name."""
    return {c.name: c for module in MODULES for c in vars(module).values()
            if isinstance(c, Command)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vendorban", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subs = parser.add_subparsers(dest="command", required=True)
    for name, cmd in commands().items():
        cmd.configure(subs.add_parser(name, help=cmd.help, description=cmd.help))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `vendorban` script: known errors become one line and exit status 1."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return commands()[args.command](args, load_settings())
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


"""What a `vendorban` sub-command is: a name, its one-line help, its arguments and its handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.config import Settings

Handler = Callable[[argparse.Namespace, Settings], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class Command:
    """One sub-command; calling it runs its handler (`bot.cli.program` lists the modules)."""

    name: str
    help: str
    configure: Configure
    run: Handler

    def __call__(self, args: argparse.Namespace, settings: Settings) -> int:
        return self.run(args, settings)


def command(name: str, help_text: str, configure: Configure) -> Callable[[Handler], Command]:
    """Make a handler a sub-command (registers nothing: `bot.cli.program` collects them)."""
    def decorate(func: Handler) -> Command:
        return Command(name, help_text, configure, func)
    return decorate

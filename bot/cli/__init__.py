"""The `vendorban` command line: `bot.cli.program` builds it from one module per command group."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `vendorban` script (imports the command line only when run)."""
    from bot.cli.program import main as run

    return run(argv)

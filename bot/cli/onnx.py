"""`vendorban export-onnx`: write the ONNX export that lets serving processes skip torch."""

from __future__ import annotations

import argparse

from bot.cli.command import command
from bot.core.config import Settings


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="export again even when one exists")


@command("export-onnx", "export the embedding model to ONNX for fast query embedding", _args)
def cmd_export_onnx(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.onnx_export import export_onnx

    folder = export_onnx(settings, force=args.force)
    print(f"ONNX export ready in {folder}")
    return 0

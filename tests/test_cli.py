"""The command line: one module per command group, listed once, cheap to start."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

HEAVY = ("torch", "chromadb", "sentence_transformers", "spacy", "discord", "fastapi", "uvicorn",
         "langchain_core", "onnxruntime")


def test_every_group_module_brings_commands_and_names_are_unique():
    from bot.cli.command import Command
    from bot.cli.program import MODULES, commands

    per_module = [[c.name for c in vars(m).values() if isinstance(c, Command)] for m in MODULES]
    assert all(per_module), [m.__name__ for m, got in zip(MODULES, per_module, strict=True)
                             if not got]
    names = [n for group in per_module for n in group]
    assert len(names) == len(set(names)) == len(commands())
    assert {"ingest", "ask", "serve", "discord", "eval", "subscribe"} <= set(names)


def test_help_needs_none_of_the_heavy_libraries():
    code = ("import sys, contextlib, io\nfrom bot.cli.program import build_parser\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
            "    build_parser().parse_args(['--help'])\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_python_m_bot_cli_runs_the_command():
    done = subprocess.run([sys.executable, "-m", "bot.cli", "--help"], cwd=ROOT, timeout=120,
                          capture_output=True, text=True, env={"PYTHONPATH": str(ROOT)})
    assert done.returncode == 0 and "subscriptions" in done.stdout, done.stderr

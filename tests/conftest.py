"""Shared fixtures: state in temp dirs, the real model loaded once, the real corpus indexed once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's .env or VENDORBAN_* variables."""
    for key in list(os.environ):
        if key.startswith("VENDORBAN_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def make_settings(data_dir: Path, **overrides):
    """Settings pointing all state at `data_dir`, ignoring any .env file."""
    from bot.core.config import Settings

    return Settings(_env_file=None, data_dir=data_dir, corpus_dir=CORPUS, **overrides)


@pytest.fixture
def settings(tmp_path: Path):
    return make_settings(tmp_path / "data")


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory):
    """The shipped corpus ingested once into a temp Chroma: (settings, assistant)."""
    from bot.core.assistant import Assistant
    from ingest.pipeline import ingest

    data = tmp_path_factory.mktemp("corpus-index")
    settings = make_settings(data / "data")
    report = ingest([CORPUS], settings, progress=False)
    assert not report.failed, report.failed
    return settings, Assistant(settings)


@pytest.fixture
def assistant(corpus_index):
    return corpus_index[1]


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A private copy of a few corpus files to modify in a test."""
    target = tmp_path / "corpus"
    target.mkdir()
    for name in sorted(os.listdir(CORPUS))[:4]:
        if name.endswith(".md"):
            shutil.copy(CORPUS / name, target / name)
    return target

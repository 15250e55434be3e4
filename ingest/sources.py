"""Which loader reads which source: file suffix -> loader returning Documents."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from bot.core.types import Document
from ingest.documents import load_text_file

Loader = Callable[[Path, str], list[Document]]

LOADERS: dict[str, Loader] = {
    ".md": load_text_file,
    ".markdown": load_text_file,
    ".txt": load_text_file,
}


def register(suffixes: tuple[str, ...], loader: Loader) -> None:
    """Add a loader for more file types (HTML, PDF, timelines...)."""
    for suffix in suffixes:
        LOADERS[suffix] = loader


def discover(path: Path) -> Iterator[Path]:
    """Files under `path` that some loader reads, in a stable order; `path` itself if a file."""
    if path.is_file():
        yield path
        return
    for child in sorted(path.rglob("*")):
        hidden = any(part.startswith((".", "_")) for part in child.relative_to(path).parts)
        if child.is_file() and not hidden and child.suffix.lower() in LOADERS:
            yield child


def load(path: Path, source: str) -> list[Document]:
    """Documents of one file, through the loader for its suffix (plain text when unknown)."""
    return LOADERS.get(path.suffix.lower(), load_text_file)(path, source)

"""Which loader reads which source: file suffix -> loader, fetched media type -> loader."""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.core.config import Settings
from bot.core.errors import BotError, IngestError
from bot.core.types import Document
from ingest.documents import (
    document_from_fields,
    keyed_by,
    load_text_file,
    path_key,
    split_front_matter,
)
from ingest.fetch import Fetched, fetch
from ingest.html import document_from_html, load_html_file
from ingest.pdf import document_from_pdf, load_pdf_file
from ingest.timeline import FILE_PATTERN, load_timeline_file

Loader = Callable[[Path, str], list[Document]]
log = logging.getLogger(__name__)

LOADERS: dict[str, Loader] = {
    ".md": load_text_file,
    ".markdown": load_text_file,
    ".txt": load_text_file,
}
PATTERNS: dict[str, str] = {}  # suffix -> file-name pattern a file must match to be discovered


def register(suffixes: tuple[str, ...], loader: Loader, pattern: str | None = None) -> None:
    """Add a loader for more file types; `pattern` (e.g. "timeline*") limits the files it takes."""
    for suffix in suffixes:
        LOADERS[suffix] = loader
        if pattern:
            PATTERNS[suffix] = pattern + suffix


register((".html", ".htm"), load_html_file)
register((".pdf",), load_pdf_file)
register((".yaml", ".yml"), load_timeline_file, pattern=FILE_PATTERN)


def readable(path: Path) -> bool:
    """Whether some loader takes this file (by suffix, and by name where a pattern is set)."""
    suffix = path.suffix.lower()
    pattern = PATTERNS.get(suffix)
    return suffix in LOADERS and (pattern is None or fnmatch.fnmatch(path.name.lower(), pattern))


def discover(path: Path, skipped: list[tuple[str, str]] | None = None) -> Iterator[Path]:
    """Files under `path` that some loader reads, in a stable order; `path` itself if a file.

    Symbolic links to folders are not followed (so a link loop cannot loop); they and dangling
    links are added to `skipped` as (path, why) instead of vanishing without a word.
    """
    if path.is_file():
        yield path
        return
    for child in sorted(path.rglob("*")):
        hidden = any(part.startswith((".", "_")) for part in child.relative_to(path).parts)
        if hidden:
            continue
        if child.is_symlink() and not child.is_file():
            if skipped is not None:
                skipped.append((str(child), f"{child}: {unfollowed_link(child)}"))
        elif child.is_file() and readable(child):
            yield child


def unfollowed_link(link: Path) -> str:
    """Why a symbolic link that is not a file is skipped, in a few words."""
    target = os.readlink(link)
    try:
        real = link.resolve(strict=True)
    except FileNotFoundError:
        return f"skipped, a dangling symbolic link (to {target}, which does not exist)"
    except (RuntimeError, OSError):  # RuntimeError: Python 3.11's "Symlink loop"
        return f"skipped, a symbolic link loop (to {target})"
    if real.is_dir() and (real == link.parent.resolve() or real in link.parent.resolve().parents):
        return f"skipped, a symbolic link loop (to {target}, a folder containing it)"
    if real.is_dir():
        return f"skipped, a symbolic link to a folder (to {target}; links are not followed)"
    return f"skipped, a symbolic link to something that is not a file (to {target})"


def load(path: Path, source: str) -> list[Document]:
    """Documents of one file, through the loader for its suffix (plain text when unknown)."""
    return LOADERS.get(path.suffix.lower(), load_text_file)(path, source)


def load_under(path: Path, root: Path) -> list[Document]:
    """Documents of a file found under `root`; one without a url is identified by its place in
    `root` (path_key), not by the path as typed, so another spelling of the path is no new one."""
    return keyed_by(load(path, str(path)), path_key(path, root))


def failure(source: str, exc: Exception) -> str:
    """The one line reported for a source that could not be read, whatever was raised: a reader's
    own bug (pypdf raises KeyError, IndexError, TypeError on some malformed PDFs) is that source's
    failure, not the run's; its traceback goes to the debug log (`--verbose`)."""
    if isinstance(exc, BotError):
        return str(exc)
    log.debug("%s: unexpected error while reading it", source, exc_info=exc)
    return f"{source}: cannot read it ({type(exc).__name__}: {exc})"


def is_url(value: str) -> bool:
    """Whether a command-line source is a URL (scheme://...) rather than a path."""
    return re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://", str(value)) is not None


def load_url(url: str, settings: Settings,
             fallback: dict[str, Any] | None = None) -> list[Document]:
    """The Document at a URL (HTML, PDF or text); `source` and `url` are the URL asked for."""
    return [document_from_fetched(fetch(url, settings), fallback)]


def document_from_fetched(fetched: Fetched, fallback: dict[str, Any] | None = None) -> Document:
    """A fetched body as a Document by its media type; a missing outlet becomes the host name."""
    url = fetched.url
    fallback = {"outlet": urlsplit(fetched.final_url).hostname or "", **(fallback or {})}
    if fetched.media_type == "application/pdf":
        return document_from_pdf(fetched.content, url, url, fallback)
    if fetched.media_type in ("text/html", "application/xhtml+xml"):
        return document_from_html(fetched.text(), url, url, fallback)
    if fetched.media_type in ("text/plain", "text/markdown"):
        meta, body = split_front_matter(fetched.text().replace("\r\n", "\n"), url)
        return document_from_fields({**fallback, **(meta or {}), "url": url}, body, url)
    raise IngestError(f"{url}: {fetched.media_type} is not an article (is it a feed? use --feed)")

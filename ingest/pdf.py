"""PDF -> Document, keeping where each page starts so citations can say "p. 3"."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

from bot.core.errors import IngestError
from bot.core.types import Document
from ingest.documents import document_from_fields

log = logging.getLogger(__name__)
PAGE_GAP = "\n\n"


def page_texts(data: bytes, source: str) -> tuple[list[str], dict[str, Any]]:
    """(the text of each page, title/author/published from the PDF's info)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise IngestError(f"{source}: encrypted PDF, cannot read its text")
        pages = [clean(page.extract_text() or "") for page in reader.pages]
        info = reader.metadata
    except PdfReadError as exc:
        raise IngestError(f"{source}: not a readable PDF ({exc})") from exc
    except IngestError:
        raise
    except Exception as exc:  # pypdf raises KeyError, IndexError, TypeError...
        problem = f"{type(exc).__name__}: {exc}"
        raise IngestError(f"{source}: not a readable PDF ({problem})") from exc
    return pages, pdf_info(info)


def pdf_info(info: Any) -> dict[str, Any]:
    """Title, author and creation date from a PDF's info dictionary, skipping malformed fields."""
    meta: dict[str, Any] = {}
    for key, attr in (("title", "title"), ("author", "author"), ("published", "creation_date")):
        try:
            value = getattr(info, attr) if info is not None else None
        except (ValueError, TypeError):  # pypdf raises on a malformed date string
            value = None
        if value:
            meta[key] = str(value).strip() if isinstance(value, str) else value
    return meta


def clean(text: str) -> str:
    """A page's text with line ends normalised, no NULs, and no leading/trailing blank lines."""
    text = text.replace("\x00", "").replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[ \t]+\n", "\n", text).strip()


def join_pages(pages: list[str]) -> tuple[str, tuple[int, ...]]:
    """The document text and the start offset of every page (an empty page starts where the next
    page's text does, so offsets map to the right page)."""
    text, starts = "", []
    for page in pages:
        starts.append(len(text) + len(PAGE_GAP) if text else 0)
        if page:
            text = f"{text}{PAGE_GAP}{page}" if text else page
    return text, tuple(starts)


def document_from_pdf(data: bytes, source: str, url: str = "",
                      fallback: dict[str, Any] | None = None) -> Document:
    """One Document for a PDF; `fallback` metadata (feed entry, hostname) fills what it lacks."""
    pages, info = page_texts(data, source)
    text, starts = join_pages(pages)
    if not text.strip():
        raise IngestError(f"{source}: the PDF has no extractable text (a scan?)")
    meta = {**(fallback or {}), **info, "url": url}
    return document_from_fields(meta, text, source, pages=starts)


def load_pdf_file(path: Path, source: str) -> list[Document]:
    """A .pdf file as one Document."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    return [document_from_pdf(data, source)]

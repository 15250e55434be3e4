"""HTML pages -> Document: main text only (no navigation, ads, comments), metadata from the page."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.core.errors import IngestError
from bot.core.types import Document
from ingest.documents import document_from_fields, read_text, split_front_matter

log = logging.getLogger(__name__)
# Dates only from the page's metadata and markup, never guessed from its prose.
DATE_PARAMS = {"extensive_search": False, "original_date": True}


def page_metadata(html: str, url: str = "") -> tuple[dict[str, Any], str]:
    """(title/outlet/author/published/url from the page, main text with blank-line paragraphs)."""
    import trafilatura  # heavy import (lxml, justext): only when a page is read

    found = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False, include_tables=True,
        include_images=False, include_links=False, date_extraction_params=DATE_PARAMS,
    )
    if found is None or not (found.text or "").strip():
        return {}, ""
    # No host name as outlet here (trafilatura falls back to it): a feed's title is the better
    # fallback, the host name the last one.
    host = urlsplit(url).netloc.lower() if url else ""
    named = (found.sitename or "").lower() not in (host, found.hostname)
    sitename = found.sitename if named else ""
    meta = {"title": found.title, "outlet": sitename,
            "author": found.author, "published": found.date, "url": found.url}
    paragraphs = [p.strip() for p in found.text.split("\n") if p.strip()]
    if paragraphs and found.title and paragraphs[0] == found.title.strip():
        paragraphs = paragraphs[1:]  # the headline is the title, not body text
    return {k: v for k, v in meta.items() if v}, "\n\n".join(paragraphs)


def document_from_html(html: str, source: str, url: str = "",
                       fallback: dict[str, Any] | None = None) -> Document:
    """One Document: front matter first, then the page's metadata, then `fallback` (feed entry)."""
    front, markup = split_front_matter(html.replace("\r\n", "\n"), source)
    page, text = page_metadata(markup, url or str((front or {}).get("url") or ""))
    if not text:
        raise IngestError(f"{source}: no main text found in the page")
    meta = {**(fallback or {}), **page, **(front or {})}
    # A fetched page is identified by the URL it was fetched from (stable), not its canonical link.
    meta["url"] = url or (front or {}).get("url") or page.get("url", "")
    return document_from_fields(meta, text, source)


def load_html_file(path: Path, source: str) -> list[Document]:
    """An .html file (optionally with YAML front matter before the markup) as one Document."""
    return [document_from_html(read_text(path), source)]

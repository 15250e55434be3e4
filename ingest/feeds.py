"""RSS/Atom feeds: read a feed safely, then each entry's linked article becomes a Document."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.core.config import Settings
from bot.core.errors import IngestError
from bot.core.types import Document
from ingest.fetch import fetch
from ingest.sources import failure, load_url

if TYPE_CHECKING:
    from ingest.report import IngestReport

log = logging.getLogger(__name__)
FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml",
                        "application/xml", "text/xml", "text/html", "text/plain"})


@dataclass(frozen=True)
class FeedEntry:
    """One feed item: the article it links to and the metadata to fall back on."""

    key: str  # the entry's id, else its link
    link: str
    title: str = ""
    published: date | None = None
    author: str = ""
    fingerprint: str = ""  # changes when the entry's id, link, title, dates or summary change


@dataclass
class Feed:
    """A fetched feed (empty and `not_modified` when a conditional request got 304)."""

    url: str
    title: str = ""
    entries: list[FeedEntry] = field(default_factory=list)
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


def read_feed(url: str, settings: Settings, etag: str = "", last_modified: str = "") -> Feed:
    """Fetch (through the safe fetcher) and parse a feed; IngestError when it is not one."""
    fetched = fetch(url, settings, etag=etag, last_modified=last_modified)
    if fetched.not_modified:
        return Feed(url, etag=fetched.etag or etag, last_modified=fetched.last_modified
                    or last_modified, not_modified=True)
    if fetched.media_type not in FEED_TYPES:
        raise IngestError(f"{url}: not a feed (content type {fetched.media_type})")
    title, entries = parse_feed(fetched.content, fetched.final_url)
    return Feed(url, title, entries, fetched.etag, fetched.last_modified)


def parse_feed(data: bytes, url: str) -> tuple[str, list[FeedEntry]]:
    """(feed title, entries with absolute links) of RSS or Atom bytes."""
    import feedparser

    parsed = feedparser.parse(data, response_headers={"content-location": url})
    if not parsed.entries and not parsed.feed.get("title"):
        raise IngestError(f"{url}: not a readable RSS or Atom feed")
    entries = []
    for item in parsed.entries:
        link = str(item.get("link") or "").strip()
        if not link:
            log.warning("%s: entry %r has no link; skipped", url, item.get("title"))
            continue
        entries.append(FeedEntry(
            key=str(item.get("id") or link), link=link, title=str(item.get("title") or ""),
            published=_entry_date(item), author=str(item.get("author") or ""),
            fingerprint=_fingerprint(item, link),
        ))
    return str(parsed.feed.get("title") or ""), entries


def _entry_date(item: Any) -> date | None:
    # dict.get: feedparser's own get() maps updated <-> published with a DeprecationWarning
    stamp = dict.get(item, "published_parsed") or dict.get(item, "updated_parsed")
    return date(stamp.tm_year, stamp.tm_mon, stamp.tm_mday) if stamp else None


def _fingerprint(item: Any, link: str) -> str:
    parts = [dict.get(item, k) or "" for k in ("id", "title", "published", "updated", "summary")]
    return hashlib.sha1("\x1f".join([link, *map(str, parts)]).encode("utf-8")).hexdigest()


def entry_document(entry: FeedEntry, feed: Feed, settings: Settings) -> Document:
    """The article an entry links to; the entry's title, date and author (and the feed's title as
    outlet) fill what the page itself does not give."""
    fallback = {"title": entry.title, "published": entry.published, "author": entry.author,
                "outlet": feed.title}
    return load_url(entry.link, settings, {k: v for k, v in fallback.items() if v})[0]


def collect_feed(url: str, settings: Settings, report: IngestReport,
                 wanted: Callable[[FeedEntry], bool] | None = None) -> list[Document]:
    """Documents of a feed's entries (those `wanted`); failures go to the report, not raised."""
    try:
        feed = read_feed(url, settings)
    except Exception as exc:  # one feed's failure, whatever raised it
        report.failed.append((url, failure(url, exc)))
        return []
    return collect_entries(feed, settings, report, wanted)


def collect_entries(feed: Feed, settings: Settings, report: IngestReport,
                    wanted: Callable[[FeedEntry], bool] | None = None) -> list[Document]:
    """Fetch the article of each wanted entry; one failing article does not stop the others."""
    docs = []
    for entry in feed.entries:
        if wanted is not None and not wanted(entry):
            continue
        try:
            docs.append(entry_document(entry, feed, settings))
        except Exception as exc:  # one article's failure, whatever raised it
            report.failed.append((entry.link, failure(entry.link, exc)))
    return docs

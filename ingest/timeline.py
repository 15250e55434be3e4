"""Timeline YAML files (corpus/timeline-*.yaml) -> one citable Document per dated measure."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.core.errors import IngestError
from bot.core.timeline import KIND, TimelineEntry, TimelineError, parse_timeline
from bot.core.types import Document
from ingest.documents import read_text

TITLE_WORDS = 8
FILE_PATTERN = "timeline*"  # only YAML files named like this are timelines


def entry_title(entry: TimelineEntry) -> str:
    """ "2019-05-15 United States: Executive Order 13873 declared a national emergency..." """
    words = entry.measure.split()
    head = " ".join(words[:TITLE_WORDS]).rstrip(".,;:")
    more = "..." if len(words) > TITLE_WORDS else ""
    return f"{entry.date.isoformat()} {entry.country}: {head}{more}"


def entry_text(entry: TimelineEntry) -> str:
    """The entry in words: when, where, who, what, its scope, the vendors and its status."""
    when = entry.date.spoken()
    vendors = ", ".join(entry.vendors) or "none named"
    # One flowing sentence, so an answer that quotes it carries the date, place, body and scope.
    measure = entry.measure.rstrip(". ")
    return (f"On {when}, {entry.country} ({entry.body}): {measure} "
            f"(scope: {entry.scope}; vendors: {vendors}; status: {entry.status}).")


def entry_document(entry: TimelineEntry, source: str) -> Document:
    """A timeline entry as a Document of kind "timeline"; the entry itself rides along."""
    # Keyed on the entry's content, not its URL: several entries (and articles) share a source URL.
    key = f"timeline|{entry.date}|{entry.country}|{entry.body}|{entry.measure}"
    stored = entry.model_dump(mode="json", exclude={"doc_id"})
    return Document(
        doc_id=hashlib.sha1(key.encode("utf-8")).hexdigest()[:16], text=entry_text(entry),
        title=entry_title(entry), source=source, url=entry.source_url, outlet=entry.source,
        published=entry.date, kind=KIND, countries=(entry.country,),
        vendors=tuple(entry.vendors), timeline=stored,
    )


def load_timeline_file(path: Path, source: str) -> list[Document]:
    """Every entry of a timeline YAML file as a Document; one IngestError for an invalid file."""
    if not path.match(FILE_PATTERN + path.suffix):
        raise IngestError(f"{source}: only YAML files named {FILE_PATTERN}.yaml are ingested")
    try:
        entries = parse_timeline(read_text(path), source)
    except TimelineError as exc:
        raise IngestError(str(exc)) from exc
    return [entry_document(e, source) for e in entries]

"""Ingest: sources -> documents -> chunks -> vectors -> Chroma, skipping what has not changed."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.attribution import AttributionResult, attribute, attribute_many
from bot.core.config import Settings
from bot.core.embeddings import get_ingest_embedder, model_id
from bot.core.errors import BotError, IngestError
from bot.core.schema import ChunkMeta, DocumentMeta, DocumentRecord
from bot.core.store import Store
from bot.core.types import Chunk, Document
from ingest import sources
from ingest.alerts import send_alerts
from ingest.chunking import chunk_document
from ingest.feeds import collect_feed
from ingest.layout import unwrap
from ingest.report import IngestReport  # also the import path of the CLI and bench

if TYPE_CHECKING:
    import numpy as np
    from tqdm import tqdm

log = logging.getLogger(__name__)
# 2: attribution from the text; 3: unwrapped text; 4: canonical countries; 5: the metadata schema
# (canonical country and vendor names and aliases in lists and flags, typed timeline entries)
CHUNKER_VERSION = "5"
ATTRIBUTION_GROUP = 64  # documents whose sentences are parsed together
EMBED_GROUP = 256  # chunks embedded together (across documents) before they are written


@dataclass
class Prepared:
    """A document ready to be written: its chunks and their metadata."""

    doc: Document
    meta: DocumentRecord
    chunks: list[Chunk]
    metas: list[ChunkMeta]
    status: str  # "new" or "changed"


def doc_hash(doc: Document, settings: Settings) -> str:
    """Hash of everything that shapes a document's chunks and vectors."""
    fields = {k: v for k, v in doc.__dict__.items() if k != "doc_id"}
    fields |= {"chunker": CHUNKER_VERSION, "words": settings.chunk_words,
               "overlap": settings.chunk_overlap_words, "model": model_id(settings.embedding_model)}
    return hashlib.sha256(json.dumps(fields, default=str, sort_keys=True).encode()).hexdigest()


def document_meta(doc: Document, digest: str, speakers: Sequence[str],
                  roles: dict[str, list[str]] | None = None) -> DocumentMeta:
    """The metadata shared by a document's record and all of its chunks."""
    return DocumentMeta(
        doc_id=doc.doc_id, doc_hash=digest, title=doc.title, url=doc.url, outlet=doc.outlet,
        published=doc.published, kind=doc.kind, source=doc.source, language=doc.language,
        author=doc.author, countries=doc.countries, vendors=doc.vendors,
        speakers=tuple(speakers),
        speaker_roles={name: tuple(found) for name, found in (roles or {}).items()},
        timeline=doc.timeline,
    )


def prepare(doc: Document, settings: Settings, digest: str, status: str,
            found: AttributionResult | None = None) -> Prepared:
    """Attribute speech (unless done already), chunk, and build chunk metadata for a document."""
    found = found or attribute(doc.text, doc.speakers)
    attributions = found.spans
    speakers = list(dict.fromkeys([*doc.speakers, *found.speakers]))
    shared = vars(document_meta(doc, digest, speakers, found.roles))
    chunks = chunk_document(doc, settings.chunk_words, settings.chunk_overlap_words, attributions)
    metas = [ChunkMeta(**shared, position=chunk.position, start=chunk.start, end=chunk.end,
                       page=page_of(doc, chunk.start),
                       attributions=tuple((a.start, a.end, a.speaker) for a in chunk.attributions))
             for chunk in chunks]
    record = DocumentRecord(**shared, n_chunks=len(chunks), ingested_at=time.time())
    return Prepared(doc, record, chunks, metas, status)


def page_of(doc: Document, offset: int) -> int:
    """1-based page number of an offset in a paged source (PDF); 0 when the source has no pages."""
    return sum(1 for start in doc.pages if start <= offset)


def ingest(
    paths: Iterable[Path | str], settings: Settings, store: Store | None = None,
    prune: bool = False, progress: bool | None = None, feeds: Iterable[str] = (),
) -> IngestReport:
    """Ingest files, folders, URLs and feeds; unchanged documents cost a hash and nothing more."""
    started = time.perf_counter()
    report = IngestReport()
    docs, roots, loaded = collect(paths, settings, report)
    for feed in feeds:
        add_documents(docs, collect_feed(feed, settings, report), report)
    ingest_documents(list(docs.values()), settings, store, progress, report,
                     prune_roots=roots if prune else None, loaded=loaded)
    report.seconds = time.perf_counter() - started
    return report


def ingest_documents(
    docs: Sequence[Document], settings: Settings, store: Store | None = None,
    progress: bool | None = None, report: IngestReport | None = None,
    prune_roots: list[str] | None = None, loaded: set[str] | None = None,
) -> IngestReport:
    """Write already-loaded Documents (files, URLs, feed entries), skipping unchanged ones.

    `loaded`: sources read whole this run, whose other documents in the index are stale and
    removed; `prune_roots`: folders whose documents with a missing file are removed.
    """
    started = time.perf_counter()
    store = store or Store(settings)
    report = report if report is not None else IngestReport()
    records = store.doc_records()
    todo = plan(list(docs), records, settings, report)
    try:
        write(todo, store, settings, report, progress)
        seen = {d.doc_id for d in docs}
        remove_stale(store, records, loaded or set(), seen, report)
        if prune_roots is not None:
            prune_missing(store, prune_roots, seen, report)
    finally:  # what was written before a failure must reach other processes' side indexes
        if report.wrote:
            store.mark_updated()
        if report.added:  # after the writes; never raises (an alert must not fail the ingest)
            sent, failures = send_alerts(report.added, settings)
            report.alerts_sent += sent
            report.alerts_failed += failures
            report.added = []
    report.seconds += time.perf_counter() - started
    return report


def collect(paths: Iterable[Path | str], settings: Settings, report: IngestReport,
            ) -> tuple[dict[str, Document], list[str], set[str]]:
    """Load every source (file, folder or URL); a failing one is reported and the rest go on.

    Returns the documents by id, the folders and files given, and the sources loaded whole.
    """
    docs: dict[str, Document] = {}
    roots: list[str] = []
    loaded: set[str] = set()
    for raw in paths:
        if sources.is_url(str(raw)):
            add_source(docs, str(raw), lambda u=str(raw): sources.load_url(u, settings),
                       loaded, report)
            continue
        path = Path(raw)
        if not path.exists():
            report.failed.append((str(path), f"{path}: no such file or directory"))
            continue
        roots.append(str(path))
        for file in sources.discover(path, report.skipped):
            add_source(docs, str(file), lambda f=file, r=path: sources.load_under(f, r),
                       loaded, report)
    return docs, roots, loaded


def add_source(docs: dict[str, Document], source: str, load: Callable[[], list[Document]],
               loaded: set[str], report: IngestReport) -> None:
    """Load one source into `docs` whole or not at all; its failure is reported, not raised."""
    try:
        new = load()
        clash = next((d for d in new if _clashes(docs, d)), None)
        if clash is not None:
            raise IngestError(f"{source}: same document id (same url) as "
                              f"{docs[clash.doc_id].source}")
    except Exception as exc:  # any failure of one source is that source's
        report.failed.append((source, sources.failure(source, exc)))
        return
    docs.update((d.doc_id, d) for d in new)
    loaded.add(source)


def add_documents(docs: dict[str, Document], new: Iterable[Document], report: IngestReport) -> None:
    """Add documents (feed entries) by id; one clashing with another source's is reported."""
    for doc in new:
        if _clashes(docs, doc):
            clash = f"{doc.source}: same document id (same url) as {docs[doc.doc_id].source}"
            report.failed.append((doc.source, clash))
        else:
            docs[doc.doc_id] = doc


def _clashes(docs: dict[str, Document], doc: Document) -> bool:
    """Another source already gave this id (the same source twice is no clash)."""
    return doc.doc_id in docs and docs[doc.doc_id].source != doc.source


def plan(docs: list[Document], records: dict[str, DocumentRecord], settings: Settings,
         report: IngestReport) -> list[Prepared]:
    """Documents whose hash differs from the index's record, prepared for writing."""
    pending = []
    for doc in docs:
        digest = doc_hash(doc, settings)
        old = records.get(doc.doc_id)
        if old and old.doc_hash == digest:
            report.unchanged += 1
            continue
        # the hash is of the text as read; a hard-wrapped text is stored unwrapped (same length)
        doc = replace(doc, text=unwrap(doc.text))
        pending.append((doc, digest, "changed" if old else "new"))
    todo = []
    for start in range(0, len(pending), ATTRIBUTION_GROUP):  # parsed in shared batches
        group = pending[start:start + ATTRIBUTION_GROUP]
        found = attribute_many([(doc.text, doc.speakers) for doc, _, _ in group])
        for (doc, digest, status), attributed in zip(group, found, strict=True):
            try:
                todo.append(prepare(doc, settings, digest, status, attributed))
            except BotError as exc:
                report.failed.append((doc.source, str(exc)))
    return todo


def write(todo: list[Prepared], store: Store, settings: Settings, report: IngestReport,
          progress: bool | None) -> None:
    """Embed in large groups across documents (throughput), then write each group whole.

    A group is written in a background thread while the next one is embedded: Chroma's write
    (per chunk with its metadata) then hides behind embedding. Writes keep their
    order, and a failure stops the run after the writes already started have finished.
    """
    total = sum(len(p.chunks) for p in todo)
    if not total and not todo:
        return
    embedder = get_ingest_embedder(settings)
    bar = _progress(total, progress)
    groups: list[list[Prepared]] = [[]]
    for prepared in todo:
        if sum(len(p.chunks) for p in groups[-1]) >= EMBED_GROUP:
            groups.append([])
        groups[-1].append(prepared)
    pending: Future | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="ingest-write") as writer:
        try:
            for group in groups:
                chunks = [(p, c) for p in group for c in p.chunks]
                vectors = embedder.embed([embed_text(p.doc, c) for p, c in chunks])
                if pending is not None:
                    pending.result()
                pending = writer.submit(_write_group, group, chunks, vectors, store, report, bar)
        finally:
            if pending is not None:
                pending.result()
    if bar is not None:
        bar.close()


def _write_group(group: list[Prepared], chunks: list[tuple[Prepared, Chunk]], vectors: np.ndarray,
                 store: Store, report: IngestReport, bar: tqdm | None) -> None:
    """Write a group's documents in one store call, then count them as done."""
    if not group:
        return
    store.write_documents([p.meta for p in group], [c.chunk_id for _, c in chunks],
                          [c.text for _, c in chunks], [m for p in group for m in p.metas],
                          vectors)
    for p in group:
        report.chunks_embedded += len(p.chunks)
        setattr(report, p.status, getattr(report, p.status) + 1)
        if p.status == "new":  # alerts need the metadata, not the text: a bulk ingest holds many
            report.added.append(replace(p.doc, text=""))
    if bar is not None:
        bar.update(len(chunks))


def embed_text(doc: Document, chunk: Chunk) -> str:
    """What is embedded for a chunk: its title gives the passage its topic."""
    return f"{doc.title}\n{chunk.text}"


def remove_stale(store: Store, records: dict[str, DocumentRecord], loaded: set[str],
                 seen: set[str], report: IngestReport) -> None:
    """Remove documents a source gave before but no longer gives (an edited timeline entry)."""
    for doc_id, record in records.items():
        if doc_id not in seen and record.source in loaded:
            store.delete_document(doc_id)
            report.removed += 1


def prune_missing(store: Store, roots: list[str], seen: set[str], report: IngestReport) -> None:
    """Remove documents whose source file lay under an ingested folder and is gone."""
    for doc_id, record in store.doc_records().items():
        source = record.source
        under = any(source == r or source.startswith(r.rstrip("/") + "/") for r in roots)
        if doc_id not in seen and under and not Path(source).exists():
            store.delete_document(doc_id)
            report.removed += 1


def _progress(total: int, enabled: bool | None) -> tqdm | None:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="chunk", desc="Embedding", file=sys.stderr)

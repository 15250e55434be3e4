"""Sentence-aware chunks that keep exact character offsets into the document's text."""

from __future__ import annotations

import hashlib

from bot.core.sentences import split_sentences, words
from bot.core.types import Attribution, Chunk, Document


def chunk_document(
    doc: Document, target_words: int = 180, overlap_words: int = 30,
    attributions: list[Attribution] | None = None,
) -> list[Chunk]:
    """Group whole sentences into chunks of about `target_words`, neighbours sharing a few."""
    spans = split_sentences(doc.text)
    sizes = [len(words(doc.text[s:e])) for s, e in spans]
    chunks: list[Chunk] = []
    i = 0
    while i < len(spans):
        j, total = i, 0
        while j < len(spans) and (total == 0 or total + sizes[j] <= target_words * 1.35):
            total += sizes[j]
            j += 1
            if total >= target_words:
                break
        if j == len(spans) and chunks and total < target_words // 3:
            i = _extend_last(chunks, doc, spans, i, attributions)
            break
        chunks.append(_make_chunk(doc, len(chunks), spans[i][0], spans[j - 1][1], attributions))
        if j >= len(spans):
            break
        back, shared = j, 0
        while back - 1 > i and shared + sizes[back - 1] <= overlap_words:
            back -= 1
            shared += sizes[back]
        i = back
    return chunks


def _extend_last(chunks: list[Chunk], doc: Document, spans: list[tuple[int, int]], i: int,
                 attributions: list[Attribution] | None) -> int:
    """Fold a short tail into the previous chunk instead of making a tiny one."""
    last = chunks.pop()
    chunks.append(_make_chunk(doc, last.position, last.start, spans[-1][1], attributions))
    return len(spans)


def _make_chunk(
    doc: Document, position: int, start: int, end: int, attributions: list[Attribution] | None
) -> Chunk:
    text = doc.text[start:end]
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]
    inside = tuple(a for a in attributions or () if a.start < end and a.end > start)
    return Chunk(f"{doc.doc_id}-{position:04d}-{digest}", doc.doc_id, position, text, start, end,
                 inside)

"""Numbered citations: passages become [n] sources, numbered in order of first use."""

from __future__ import annotations

from bot.core.types import Citation, Passage


class CitationBook:
    """Hands out citation numbers; one number per passage, first cited first."""

    def __init__(self) -> None:
        self._by_chunk: dict[str, Citation] = {}

    def cite(self, passage: Passage) -> int:
        """The number of a passage, adding it when new."""
        if passage.chunk_id not in self._by_chunk:
            meta = passage.meta
            self._by_chunk[passage.chunk_id] = Citation(
                number=len(self._by_chunk) + 1, doc_id=passage.doc_id, chunk_id=passage.chunk_id,
                title=meta.title, outlet=meta.outlet, published=meta.published_text, url=meta.url,
                source=meta.source, passage=passage.text, start=passage.start, end=passage.end,
                page=meta.page or None, also_in=list(passage.also_in),
            )
        return self._by_chunk[passage.chunk_id].number

    @property
    def citations(self) -> list[Citation]:
        return sorted(self._by_chunk.values(), key=lambda c: c.number)

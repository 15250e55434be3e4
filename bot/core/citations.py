"""Numbered citations: passages become [n] sources, numbered in order of first use."""

from __future__ import annotations

from bot.core.types import Answer, Citation, Passage


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


def source_detail(c: Citation) -> str:
    """"outlet, date[, p. N]" of a source (every front end shows it beside the title)."""
    detail = ", ".join(x for x in (c.outlet, c.published or "undated") if x)
    return f"{detail}, p. {c.page}" if c.page else detail


def also_in(c: Citation) -> str:
    """"; also in A, B" for a passage syndicated by other outlets, else ""."""
    if not c.also_in:
        return ""
    return "; also in " + ", ".join(str(a.get("outlet") or a.get("title")) for a in c.also_in)


def source_line(c: Citation) -> str:
    """One line describing a source: title, outlet, date, page, link."""
    return f"{c.title or '(untitled)'} ({source_detail(c)}){also_in(c)} {c.link}".strip()


def render_text(answer: Answer) -> str:
    """Plain-text rendering for the terminal: the answer, then the numbered sources."""
    if not answer.found:
        return answer.text
    lines = [answer.text, "", "Sources:"]
    lines += [f"[{c.number}] {source_line(c)}" for c in answer.citations]
    return "\n".join(lines)


def answer_to_dict(answer: Answer) -> dict:
    """JSON-ready form of an answer (API, --json)."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "found": answer.found,
        "answerer": answer.answerer,
        "citations": [
            {
                "number": c.number, "document": c.doc_id, "chunk": c.chunk_id, "title": c.title,
                "outlet": c.outlet, "published": c.published, "url": c.url, "source": c.source,
                "page": c.page, "passage": c.passage, "start": c.start, "end": c.end,
                "also_in": c.also_in,
            }
            for c in answer.citations
        ],
        "quotes": [
            {"speaker": q.speaker, "text": q.text, "chunk": q.chunk_id, "start": q.start,
             "end": q.end}
            for q in answer.quotes
        ],
    }

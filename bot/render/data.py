"""Answers as JSON-ready dicts (`POST /api/ask`, `vendorban ask --json`)."""

from __future__ import annotations

from bot.core.types import Answer, AnswerItem
from bot.render.text import answer_text, heading


def item_to_dict(item: AnswerItem) -> dict:
    """One item: its words, its citation numbers, and its speaker, date and label ("" if none)."""
    return {"text": item.text, "citations": list(item.citations), "speaker": item.speaker,
            "role": item.role, "date": item.date, "label": item.label}


def answer_to_dict(answer: Answer) -> dict:
    """JSON-ready form of an answer: its kind and items, and `answer`, the same as plain text."""
    return {
        "question": answer.question,
        "answer": answer_text(answer),
        "found": answer.found,
        "kind": answer.kind,
        "heading": heading(answer),
        "items": [item_to_dict(item) for item in answer.items],
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

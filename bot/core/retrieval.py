"""Finding the passages that answer a question: filters, dense search, lexical re-scoring."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.core.store import flag
from bot.core.text import content_terms, normalise_for_match

if TYPE_CHECKING:
    from bot.core.store import Store
    from bot.core.types import Passage


@dataclass
class Filters:
    """Metadata restrictions on retrieval; every field optional."""

    country: str | None = None
    vendor: str | None = None
    kind: str | None = None
    speaker: str | None = None
    since: date | None = None
    until: date | None = None

    def where(self) -> dict | None:
        """The Chroma `where` clause for these filters."""
        clauses: list[dict] = []
        if self.country:
            clauses.append({flag("country", self.country): True})
        if self.vendor:
            clauses.append({flag("vendor", self.vendor): True})
        if self.speaker:
            clauses.append({flag("speaker", self.speaker): True})
        if self.kind:
            clauses.append({"kind": self.kind})
        if self.since:
            clauses.append({"published_ts": {"$gte": int(self.since.strftime("%Y%m%d"))}})
        if self.until:
            clauses.append({"published_ts": {"$lte": int(self.until.strftime("%Y%m%d"))}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def active(self) -> bool:
        return self.where() is not None


def lexical_overlap(question_terms: list[str], text: str) -> float:
    """Share of the question's content terms found in a text (0..1)."""
    if not question_terms:
        return 0.0
    present = normalise_for_match(text)
    return sum(1 for t in question_terms if t in present) / len(question_terms)


def retrieve(store: Store, vector, question: str, k: int,  # noqa: ANN001
             filters: Filters | None = None) -> list[Passage]:
    """Top-k passages by dense similarity blended with lexical overlap of the question's terms."""
    where = filters.where() if filters else None
    candidates = store.query(vector, max(k * 3, 20), where)
    terms = content_terms(question)
    for p in candidates:
        p.score = 0.7 * p.dense + 0.3 * lexical_overlap(terms, p.title + " " + p.text)
    candidates.sort(key=lambda p: p.score, reverse=True)
    return candidates[:k]

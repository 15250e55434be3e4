"""Finding the passages that answer a question: dense + BM25 fused by reciprocal rank, filters,
diversity across documents, and near-duplicate collapse."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.filters import Filters  # also the front ends' import path for it
from bot.core.lexical import UNREAD, LexicalIndex
from bot.core.text import content_terms, normalise_for_match

if TYPE_CHECKING:
    import numpy as np

    from bot.core.store import Store
    from bot.core.types import Passage

RRF_K = 60
CANDIDATES = 40
PER_DOC = 2
BROAD = 4  # a filter passing at least 1/BROAD of the chunks is broad
MAX_IDS = 30_000  # ids sent with one query at most (they make the JSON body to a Chroma server)


def lexical_overlap(question_terms: list[str], text: str) -> float:
    """Share of the question's content terms found in a text (0..1)."""
    if not question_terms:
        return 0.0
    present = normalise_for_match(text)
    return sum(1 for t in question_terms if t in present) / len(question_terms)


class Retriever:
    """Hybrid retrieval over one store; the BM25 side index follows the store's version."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lexical = LexicalIndex(
            cache_dir=store.settings.data_dir / "lexical" / store.settings.collection)

    def retrieve(self, question: str, vector: np.ndarray, k: int,  # a unit vector
                 filters: Filters | None = None, newest_first: bool = False,
                 generation: object = UNREAD) -> list[Passage]:
        """Top-k passages: RRF of dense and BM25 ranks, at most PER_DOC per document."""
        generation = self.lexical.refresh(self.store, generation)
        dense = self._dense(vector, filters, self.lexical.is_current(generation))
        lexical = self.lexical.search(question, CANDIDATES, filters)
        fused: dict[str, float] = {}
        for rank, p in enumerate(dense):
            fused[p.chunk_id] = fused.get(p.chunk_id, 0.0) + 1.0 / (RRF_K + rank)
        for rank, (chunk_id, _) in enumerate(lexical):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
        passages = {p.chunk_id: p for p in dense}
        missing = [cid for cid, _ in lexical if cid not in passages]
        for p in self.store.get_with_similarity(missing, vector):
            passages[p.chunk_id] = p
        terms = content_terms(question)
        for p in passages.values():
            p.score = relevance(p, terms)
        ranked = sorted(passages.values(), key=lambda p: fused.get(p.chunk_id, 0.0), reverse=True)
        if newest_first:
            ranked = prefer_newest(ranked)
        head = max(3 * k, 24)  # only these can be returned: compare only these for duplicates
        return diversify(collapse_duplicates(ranked[:head]), k)

    def _dense(self, vector: np.ndarray, filters: Filters | None,
               current: bool = True) -> list[Passage]:
        """Nearest chunks; a narrow filter searches among the ids its in-memory mask allows.

        Chroma's own filtered search first collects the matching ids from SQLite, much slower at
        a large index than a search restricted to ids known in memory. A broad
        filter (a quarter of the chunks or more) takes Store.query's unfiltered fast path. While
        the side index lags the store (`current` False: a rebuild in the background), its ids
        would miss new documents, so Chroma filters.
        """
        where = filters.where() if filters else None
        if where is None:
            return self.store.query(vector, CANDIDATES)
        if not current:
            return self.store.query(vector, CANDIDATES, where)
        allowed = self.lexical.matching_ids(filters)
        total = len(self.lexical.ids)
        if allowed is not None and len(allowed) <= MAX_IDS and len(allowed) * BROAD < total:
            return self.store.query(vector, CANDIDATES, ids=allowed) if allowed else []
        return self.store.query(vector, CANDIDATES, where)


def relevance(p: Passage, terms: list[str]) -> float:
    """How well a passage matches: cosine similarity blended with term coverage (0..1)."""
    return 0.7 * max(p.dense, 0.0) + 0.3 * lexical_overlap(terms, f"{p.title} {p.text}")


def prefer_newest(ranked: list[Passage]) -> list[Passage]:
    """Among passages about as relevant as the best, newest first (for "latest", "now")."""
    if not ranked:
        return ranked
    best = max(p.score for p in ranked)
    close = [p for p in ranked if p.score >= 0.8 * best]
    rest = [p for p in ranked if p.score < 0.8 * best]
    close.sort(key=lambda p: p.published, reverse=True)
    return close + rest


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i : i + 5]) for i in range(max(1, len(words) - 4))}


def collapse_duplicates(ranked: list[Passage], threshold: float = 0.5) -> list[Passage]:
    """Fold near-identical passages from other documents (syndicated copies) into the first."""
    kept: list[tuple[Passage, set]] = []
    for p in ranked:
        sh = _shingles(p.text)
        twin = next((k for k, ksh in kept if k.doc_id != p.doc_id and sh and ksh and
                     len(sh & ksh) / min(len(sh), len(ksh)) >= threshold), None)
        if twin is None:
            kept.append((p, sh))
        elif not any(a.get("doc_id") == p.doc_id for a in twin.also_in):
            twin.also_in.append({"doc_id": p.doc_id, "title": p.title, "outlet": p.meta.outlet,
                                 "published": p.published, "url": p.meta.url})
    return [p for p, _ in kept]


def diversify(ranked: list[Passage], k: int) -> list[Passage]:
    """The top k with at most PER_DOC passages of any one document (others fill in after)."""
    counts: dict[str, int] = {}
    first, overflow = [], []
    for p in ranked:
        counts[p.doc_id] = counts.get(p.doc_id, 0) + 1
        (first if counts[p.doc_id] <= PER_DOC else overflow).append(p)
    return (first + overflow)[:k]



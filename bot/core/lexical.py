"""The lexical side index: BM25 over the chunks in Chroma, rebuilt when the index changes.

Names, acronyms and numbers (Suga, ZTE, FCC, 5G, 2019) are where embeddings miss and BM25 does not.
The index lives in memory and is rebuilt from Chroma whenever the store's generation changes, so it
stays correct when ingest runs in another process or on another machine.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from bot.core.text import content_terms

if TYPE_CHECKING:
    import numpy as np

    from bot.core.retrieval import Filters
    from bot.core.store import Store

log = logging.getLogger(__name__)
_FILTER_KEYS = ("kind", "published_ts")
PAGE = 5000


class LexicalIndex:
    """BM25 over chunk title + text, with the metadata needed to apply filters."""

    def __init__(self) -> None:
        self.generation: object = object()
        self.ids: list[str] = []
        self.metas: list[dict] = []
        self._bm25 = None
        self._lock = threading.Lock()
        self._masks: dict[str, np.ndarray] = {}  # per filter, for this generation

    def refresh(self, store: Store) -> None:
        """Rebuild from Chroma when the store's generation differs from the one indexed."""
        generation = store.index_record().get("generation")
        if generation == self.generation:
            return
        with self._lock:
            if generation != self.generation:
                self._rebuild(store)
                self.generation = generation

    def _rebuild(self, store: Store) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each rebuild at DEBUG
        ids, metas, corpus = [], [], []
        offset = 0
        while True:
            got = store.chunks.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
            for chunk_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"],
                                            strict=True):
                ids.append(chunk_id)
                metas.append({k: v for k, v in meta.items() if k in _FILTER_KEYS or ":" in k})
                corpus.append(content_terms(f"{meta.get('title', '')} {text}") or ["_"])
            if len(got["ids"]) < PAGE:
                break
            offset += PAGE
        bm25 = None
        if corpus:
            bm25 = bm25s.BM25()
            bm25.index(corpus, show_progress=False)
        self.ids, self.metas, self._bm25 = ids, metas, bm25
        self._masks = {}
        log.info("lexical index rebuilt: %d chunks", len(ids))

    def search(self, question: str, k: int,
               filters: Filters | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best k chunks for the question's terms."""
        terms = content_terms(question)
        if self._bm25 is None or not terms:
            return []
        mask = self._mask(filters)
        if mask is not None and not mask.any():
            return []
        vocab = self._bm25.vocab_dict
        terms = [t for t in terms if t in vocab]
        if not terms:
            return []
        k = min(k, len(self.ids))
        docs, scores = self._bm25.retrieve([terms], k=k, show_progress=False, weight_mask=mask)
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True)
                if s > 0]

    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        import numpy as np

        if filters is None or not filters.active():
            return None
        key = repr(filters.where())
        if key not in self._masks:  # filters repeat (a channel's country, a date range)
            if len(self._masks) > 64:
                self._masks.clear()
            self._masks[key] = np.array([filters.matches(m) for m in self.metas], np.float32)
        return self._masks[key]

"""The lexical side index: BM25 over the chunks in Chroma, rebuilt when the index changes.

Names, acronyms and numbers (Suga, ZTE, FCC, 5G, 2019) are where embeddings miss and BM25 does not.
The index lives in memory and is rebuilt from Chroma whenever the store's generation changes, so it
stays correct when ingest runs in another process or on another machine.

It is kept as numpy arrays, not Python objects per term: a term-major sparse matrix of BM25 weights
(the "lucene" variant with bm25s's defaults, so rankings match the bm25s index this replaced) and
columns of the metadata filters use (kind, date, country/vendor/speaker flags). Per-term Python
objects took far more memory at a large index and filter masks were slow to compute; as arrays a
mask is a few vector operations (peak memory: bench/results/memory.json).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.core.errors import IndexUnavailableError
from bot.core.schema import indexed_fields
from bot.core.text import content_terms

if TYPE_CHECKING:
    from bot.core.filters import Filters
    from bot.core.store import Store

log = logging.getLogger(__name__)
K1, B = 1.5, 0.75
# Rebuilding more chunks than this takes seconds (most of it reading Chroma):
# above it, a changed index is rebuilt in a background thread while the previous one answers.
BACKGROUND_AT = 20_000
MASK_CACHE = 64
UNREAD = object()  # "read the store's generation yourself" (callers that have read it pass it)
BACKOFF_FIRST, BACKOFF_MAX = 2.0, 120.0  # seconds before a failed build is tried again
# of the saved snapshot's layout and tokens (2: capitals map to countries; 3: kinds as plain
# text, flags as the metadata schema names them; 4: term frequencies and chunk lengths saved
# instead of weights, which are computed on load: 5 bytes a posting, not 8)
CACHE_VERSION = 4


@dataclass
class Snapshot:
    """One generation of the index: BM25 weights by term, and filter columns by chunk."""

    generation: object
    ids: list[str]
    vocab: dict[str, int]
    indptr: np.ndarray  # term t's postings are docs[indptr[t]:indptr[t + 1]]
    docs: np.ndarray  # int32 chunk positions
    weights: np.ndarray  # float32 BM25 weight of (chunk, term)
    kinds: np.ndarray  # int16 code of each chunk's kind
    kind_codes: dict[str, int]
    published: np.ndarray  # float64 published_ts, NaN where a chunk has none
    flags: dict[str, np.ndarray]  # flag key -> int32 positions of the chunks carrying it
    _masks: dict[str, tuple[np.ndarray, list[str]]] = field(default_factory=dict, repr=False)
    # what the cache stores instead of the weights: term frequencies (uint8 when they fit,
    # aligned with docs) and chunk lengths; kept from a build until it is saved
    saved: dict[str, np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, terms: list[str], k: int,
               mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """(chunk id, score) of the k best chunks with a positive score for these terms."""
        term_ids = [self.vocab[t] for t in terms if t in self.vocab]
        if not term_ids or not self.ids:
            return []
        scores = np.zeros(len(self.ids), np.float32)
        for t in term_ids:  # a repeated query term counts again, as in bm25s
            lo, hi = self.indptr[t], self.indptr[t + 1]
            scores[self.docs[lo:hi]] += self.weights[lo:hi]
        if mask is not None:
            scores[~mask] = 0.0
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Which chunks pass the filters (None: no filter); the same test as Filters.matches."""
        found = self._filtered(filters)
        return None if found is None else found[0]

    def matching_ids(self, filters: Filters | None) -> list[str] | None:
        """Ids of the chunks that pass the filters (None: no filter)."""
        found = self._filtered(filters)
        return None if found is None else found[1]

    def _filtered(self, filters: Filters | None) -> tuple[np.ndarray, list[str]] | None:
        if filters is None or not filters.active():
            return None
        key = repr(filters.where())
        found = self._masks.get(key)  # filters repeat (a channel's country, a date range)
        if found is None:  # the local, not the dict, is returned: another thread may clear it
            mask = self._compute_mask(filters)
            found = (mask, [self.ids[i] for i in np.flatnonzero(mask)])
            if len(self._masks) >= MASK_CACHE:
                self._masks.clear()
            self._masks[key] = found
        return found

    def _compute_mask(self, filters: Filters) -> np.ndarray:
        mask = np.ones(len(self.ids), bool)
        for key in filters.flag_keys():
            carrying = np.zeros(len(self.ids), bool)
            carrying[self.flags.get(key, np.empty(0, np.int32))] = True
            mask &= carrying
        if filters.kind:
            mask &= self.kinds == self.kind_codes.get(filters.kind, -1)
        low, high = filters.date_range()
        with np.errstate(invalid="ignore"):  # NaN (undated by key) compares False, as in Chroma
            if low is not None:
                mask &= self.published >= low
            if high is not None:
                mask &= self.published <= high
        return mask


class _Builder:
    """Accumulates chunks page by page into flat arrays (no Python object per posting kept)."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.vocab: dict[str, int] = {}
        self.kind_codes: dict[str, int] = {}
        self.kinds: list[int] = []
        self.published: list[float] = []
        self.lengths: list[int] = []
        self.flags: dict[str, list[int]] = {}
        self.postings: list[int] = []  # distinct terms per chunk
        self.terms: list[np.ndarray] = []  # per page: int32 term ids, chunk by chunk
        self.counts: list[np.ndarray] = []  # per page: uint16 term frequencies, aligned

    def add_page(self, ids: list[str], texts: list[str], metas: list[dict]) -> None:
        terms: list[int] = []
        counts: list[int] = []
        for chunk_id, text, meta in zip(ids, texts, metas, strict=True):
            n = len(self.ids)
            self.ids.append(chunk_id)
            row = indexed_fields(meta)
            self.kinds.append(self.kind_codes.setdefault(row.kind, len(self.kind_codes)))
            self.published.append(row.published_ts)
            for key in row.flags:
                self.flags.setdefault(key, []).append(n)
            tf = Counter(content_terms(f"{row.title} {text}"))
            self.lengths.append(sum(tf.values()))
            self.postings.append(len(tf))
            terms.extend(self.vocab.setdefault(t, len(self.vocab)) for t in tf)
            counts.extend(min(c, 65535) for c in tf.values())
        self.terms.append(np.array(terms, np.int32))
        self.counts.append(np.array(counts, np.uint16))

    def snapshot(self, generation: object) -> Snapshot:
        """The BM25 weights sorted by term; computed in place, each part freed once used (at a
        large index each postings array is big, so temporaries decide peak RSS)."""
        n, n_terms = len(self.ids), len(self.vocab)
        terms = _concatenate(self.terms, np.int32)
        df = np.bincount(terms, minlength=n_terms)
        order = np.argsort(terms, kind="stable")  # postings grouped by term, chunks ascending
        del terms  # sorted, the term of each posting is np.repeat(arange, df): not kept
        docs = np.repeat(np.arange(n, dtype=np.int32), self.postings)[order]
        tf = _concatenate(self.counts, np.uint16)[order]
        del order
        if not tf.size or int(tf.max()) <= 255:
            tf = tf.astype(np.uint8)
        lengths = np.asarray(self.lengths, np.float32)
        indptr = np.zeros(n_terms + 1, np.int64)
        np.cumsum(df, out=indptr[1:])
        return Snapshot(
            generation=generation, ids=self.ids, vocab=self.vocab, indptr=indptr, docs=docs,
            weights=bm25_weights(docs, tf, lengths, df), kinds=np.asarray(self.kinds, np.int16),
            kind_codes=self.kind_codes, published=np.asarray(self.published, np.float64),
            flags={k: np.asarray(v, np.int32) for k, v in self.flags.items()},
            saved={"tf": tf, "lengths": lengths},
        )


def bm25_weights(docs: np.ndarray, tf: np.ndarray, lengths: np.ndarray,
                 df: np.ndarray) -> np.ndarray:
    """float32 BM25 weight of each posting (grouped by term, `df` postings a term), computed in
    place: tf / (K1 * (1 - B + B * length / average) + tf) * idf."""
    n = len(lengths)
    average = float(lengths.mean()) if n and lengths.mean() > 0 else 1.0
    weights = tf.astype(np.float32)
    norm = lengths[docs]
    norm *= K1 * B / average
    norm += K1 * (1 - B)
    norm += weights
    weights /= norm
    del norm
    idf = np.log1p((n - df + 0.5) / (df + 0.5)).astype(np.float32)
    weights *= np.repeat(idf, df)
    return weights



def _concatenate(pieces: list[np.ndarray], dtype: type) -> np.ndarray:
    """The pieces as one array; the list is emptied so each piece is freed once copied."""
    out = np.concatenate(pieces) if pieces else np.empty(0, dtype)
    pieces.clear()
    return out


def release_free_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim; elsewhere nothing).

    Reading a large index through Chroma frees page buffers that glibc otherwise keeps, and
    building the arrays' large temporaries (mmap'd, not taken from that free heap) then stacks
    on top of them. Trimming before and after the arrays are built lowers a serving process's
    peak RSS (bench/results/memory.json).
    """
    import ctypes

    try:
        trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the process's own C library
    except OSError:
        return
    if trim is not None:
        trim(0)


def build(store: Store, generation: object, cache_dir: Path | None = None) -> Snapshot:
    """The snapshot of this generation: from the local cache when it holds exactly this
    collection and generation, else read from Chroma (and cached). Processes sharing the cache
    (`serve --workers N`) build one at a time, so the others load the first one's cache instead
    of each reading every chunk."""
    if cache_dir is None:
        snapshot = read_snapshot(store, generation)
        snapshot.saved = None
        return snapshot
    path = cache_dir / f"bm25-{store.chunks.id}-{generation}.npz"
    with _build_lock(cache_dir):
        cached = load_snapshot(path, generation)
        if cached is not None and len(cached) == store.count():
            log.info("lexical index loaded from %s", path)
            return cached
        snapshot = read_snapshot(store, generation)
        save_snapshot(snapshot, path)
    snapshot.saved = None  # written: not kept in memory
    return snapshot


@contextmanager
def _build_lock(cache_dir: Path) -> Iterator[None]:
    """An exclusive lock on the cache folder across processes (none where it cannot be made:
    the cache is an optimisation)."""
    import fcntl

    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        handle = (cache_dir / ".build.lock").open("a")
    except OSError as exc:
        log.warning("building the lexical index without a lock: %s", exc)
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def read_snapshot(store: Store, generation: object) -> Snapshot:
    """Read every chunk from Chroma (in pages) into a new snapshot."""
    builder = _Builder()
    for got in store.pages(store.chunks, ["documents", "metadatas"]):
        builder.add_page(got["ids"], got["documents"], got["metadatas"])
    release_free_memory()  # the page buffers, before the arrays' temporaries come on top
    snapshot = builder.snapshot(generation)
    release_free_memory()  # the temporaries
    log.info("lexical index built: %d chunks, %d terms", len(snapshot), len(snapshot.vocab))
    return snapshot


def save_snapshot(snapshot: Snapshot, path: Path) -> None:
    """Write a snapshot into its collection's folder, replacing every other one there (older
    generations, and collections a rebuild replaced).

    The file is named by collection id and generation, so it can only ever be read for the
    exact index state it was built from; written to a temporary name and renamed into place.
    """
    if snapshot.saved is None:
        return  # a snapshot read from a cache is in that cache already
    flags = list(snapshot.flags.items())
    arrays = {
        "version": np.array(CACHE_VERSION),
        "ids": np.char.encode(np.array(snapshot.ids, dtype=str), "utf-8"),
        "terms": np.array(list(snapshot.vocab), dtype=str), "indptr": snapshot.indptr,
        "docs": snapshot.docs, "tf": snapshot.saved["tf"],
        "lengths": snapshot.saved["lengths"], "kinds": snapshot.kinds,
        "kind_names": np.array(list(snapshot.kind_codes), dtype=str),
        "published": snapshot.published,
        "flag_keys": np.array([k for k, _ in flags], dtype=str),
        "flag_sizes": np.array([len(v) for _, v in flags], dtype=np.int64),
        "flag_positions": (np.concatenate([v for _, v in flags]) if flags
                           else np.empty(0, np.int32)),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.stem}.partial.npz")
        np.savez(partial, **arrays)
        os.replace(partial, path)
        for old in path.parent.glob("bm25-*.npz"):  # older generations, replaced collections
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as exc:  # a cache: the index works without it
        log.warning("could not cache the lexical index in %s: %s", path.parent, exc)


def load_snapshot(path: Path, generation: object) -> Snapshot | None:
    """The snapshot saved at `path`, or None when there is none or it cannot be read."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if int(data["version"]) != CACHE_VERSION:
                return None
            keys, sizes = data["flag_keys"].tolist(), data["flag_sizes"]
            positions = np.split(data["flag_positions"], np.cumsum(sizes)[:-1]) if keys else []
            indptr, docs = data["indptr"], data["docs"]
            weights = bm25_weights(docs, data["tf"], data["lengths"], np.diff(indptr))
            return Snapshot(
                generation=generation, ids=np.char.decode(data["ids"], "utf-8").tolist(),
                vocab={t: i for i, t in enumerate(data["terms"].tolist())},
                indptr=indptr, docs=docs, weights=weights,
                kinds=data["kinds"],
                kind_codes={k: i for i, k in enumerate(data["kind_names"].tolist())},
                published=data["published"],
                flags={k: np.asarray(v, np.int32) for k, v in zip(keys, positions, strict=True)},
            )
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring an unreadable lexical index cache %s: %s", path, exc)
        return None


class LexicalIndex:
    """The current snapshot, refreshed when the store's version changes."""

    def __init__(self, background_at: int = BACKGROUND_AT, cache_dir: Path | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.background_at = background_at
        self.cache_dir = cache_dir
        self.snapshot: Snapshot | None = None
        self.clock = clock
        self.failures = 0  # builds failed in a row
        self._retry_at = -math.inf  # no build starts before this (clock time)
        self._lock = threading.Lock()  # one build at a time

    @property
    def ids(self) -> list[str]:
        return self.snapshot.ids if self.snapshot else []

    def is_current(self, generation: object) -> bool:
        """True when the snapshot indexes exactly this version of the store."""
        snapshot = self.snapshot
        return snapshot is not None and snapshot.generation == generation

    def refresh(self, store: Store, generation: object = UNREAD) -> object:
        """Rebuild when the store's version differs from the one indexed; returns the version.

        The version is read before the build, so writes that land during it make the next
        refresh build again. A large index that changed is rebuilt in the background while the
        previous snapshot keeps answering (dense retrieval from Chroma is always current). After
        a failed build the next waits (BACKOFF_FIRST, doubling up to BACKOFF_MAX seconds), so a
        broken index is not read whole again on every question.
        """
        if generation is UNREAD:
            generation = store.version()
        current = self.snapshot
        if self.is_current(generation) or (current is not None and self._backing_off()):
            return generation
        if current is not None and len(current) > self.background_at:
            self._build_in_background(store, generation)
            return generation
        with self._lock:
            if not self.is_current(generation):
                if self._backing_off():  # a build just failed: no snapshot to answer with
                    raise IndexUnavailableError(
                        "The search index could not be built; try again shortly.")
                self._build(store, generation, fallback=current is not None)
        return generation

    def _backing_off(self) -> bool:
        return self.clock() < self._retry_at

    def _build(self, store: Store, generation: object, fallback: bool) -> None:
        """Build under the lock; a failure starts the backoff and is raised when there is no
        older snapshot to keep answering with."""
        try:
            self.snapshot = build(store, generation, self.cache_dir)
        except Exception:
            self.failures += 1
            self._retry_at = self.clock() + min(BACKOFF_FIRST * 2 ** (self.failures - 1),
                                                BACKOFF_MAX)
            if not fallback:
                raise
            log.exception("lexical index rebuild failed (%d in a row); the previous one "
                          "answers meanwhile", self.failures)
        else:
            self.failures, self._retry_at = 0, -math.inf

    def _build_in_background(self, store: Store, generation: object) -> None:
        if self._lock.locked():
            return  # a build is running; the next refresh after it checks again

        def work() -> None:
            with self._lock:
                if not self.is_current(generation) and not self._backing_off():
                    self._build(store, generation, fallback=True)

        threading.Thread(target=work, name="lexical-rebuild", daemon=True).start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no build is running (for tests and warm-up); False on timeout."""
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        self._lock.release()
        return True

    def search(self, question: str, k: int,
               filters: Filters | None = None) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best k chunks for the question's terms."""
        snapshot = self.snapshot
        terms = content_terms(question)
        if snapshot is None or not terms:
            return []
        mask = snapshot.mask(filters)
        if mask is not None and not mask.any():
            return []
        return snapshot.search(terms, k, mask)

    def matching_ids(self, filters: Filters | None) -> list[str] | None:
        """Ids of the chunks passing the filters, from the current snapshot (None: unknown)."""
        snapshot = self.snapshot
        return None if snapshot is None else snapshot.matching_ids(filters)

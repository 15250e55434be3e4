"""The Chroma store: chunks with vectors and metadata, plus a small registry of documents.

Two collections: `<name>` holds chunks (cosine space, the project's own embedding function, the
embedding model recorded in its metadata); `<name>_docs` holds one record per document (hash,
metadata, chunk count) so that ingest can skip unchanged documents and front ends can list sources
without reading every chunk.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bot.core.config import Settings
from bot.core.connection import (
    connect,
    forget_embedded,
    index_error,
    is_stale_view,
    is_unreachable,
    retire,
    unavailable,
)
from bot.core.embeddings import get_embedder, model_id
from bot.core.errors import BotError, IndexChangedError, ModelMismatchError
from bot.core.metadata_filter import Unsupported, matches
from bot.core.schema import (
    INT_FLAGS,
    ChunkMeta,
    DocumentRecord,
    decode_chunk,
    decode_record,
    encode_chunk,
    encode_record,
    indexable,
)
from bot.core.types import Passage

if TYPE_CHECKING:
    import numpy as np
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings

log = logging.getLogger(__name__)

# HNSW parameters come from the settings (Settings.hnsw): set when a collection is created; only
# ef_search can be changed later (collection.modify), which opening a store does.
INDEX_RECORD = "__index__"
REBUILDING, PREVIOUS = "__rebuild", "__previous"  # collection name suffixes during a rebuild
# Collections created with INT_FLAGS store flags as 1; older ones keep True (and still work).
PAGE = 1000  # rows per read when reading a whole collection (see Store.pages)
# Seconds a replaced embedded client lives on for calls still using it (a background BM25
# rebuild of a large index reads for many seconds) before its system is stopped.
RETIRE_AFTER = 300.0
OVERFETCH = 8  # unfiltered candidates fetched per wanted result before Chroma's own filter


def _embedding_function(settings: Settings) -> EmbeddingFunction:
    from chromadb.api.types import EmbeddingFunction

    class ProjectEmbedding(EmbeddingFunction):
        """Chroma adapter for the project's embedder (Chroma's default would download a model)."""

        def __init__(self) -> None:
            pass

        def __call__(self, input: Documents) -> Embeddings:  # `input`: Chroma's parameter name
            return [list(map(float, v)) for v in get_embedder(settings).embed(list(input))]

    return ProjectEmbedding()


class Store:
    """Reads and writes chunks and document records in Chroma."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self.embedded = not settings.chroma_url
        self.model = model_id(settings.embedding_model)
        self._reopening = threading.Lock()
        self._own_client: Any = None  # the client the last reopen made for this store alone
        self.client = client if client is not None else connect(settings)
        self.chunks, self.docs = self._open_collections(self.client)
        self.int_flags = (self.chunks.metadata or {}).get("flags") == "int"
        self.opened_at = _token(self.index_record())  # the contents this client has seen

    def _open_collections(self, client: Any) -> tuple[Any, Any]:
        self._recover_rebuild(client)
        chunks = self._open(client, self.settings.collection,
                            {"embedding_model": self.model, **INT_FLAGS})
        docs = self._open(client, f"{self.settings.collection}_docs", {"kind": "document registry"})
        self._check_model(chunks)
        self._apply_ef_search(chunks)
        return chunks, docs

    def _apply_ef_search(self, chunks: Any) -> None:
        """Give an existing collection the configured ef_search (the one HNSW parameter Chroma
        can change after creation)."""
        wanted = self.settings.hnsw_ef_search
        config = (chunks.configuration_json or {}).get("hnsw") or {}
        if config.get("ef_search") not in (None, wanted):
            with self.reachable():
                chunks.modify(configuration={"hnsw": {"ef_search": wanted}})
            log.info("HNSW ef_search set to %d (was %s)", wanted, config.get("ef_search"))

    def reopen(self, seen: str | None = None) -> None:
        """Open the embedded index afresh (see connection.forget_embedded); `seen` is the token
        that prompted it, so threads that noticed the same write reopen once."""
        with self._reopening:
            if seen is not None and seen == self.opened_at:
                return
            client = connect(self.settings, fresh=True)
            chunks, docs = self._open_collections(client)
            with self.reachable():
                token = seen or _token(_index_record(docs))
            # a question under way keeps the objects it already read
            self.client, self.chunks, self.docs, self.opened_at = client, chunks, docs, token
            self.int_flags = (chunks.metadata or {}).get("flags") == "int"  # a reindex sets it
            if self._own_client is not None:  # one this store opened: nobody else uses it
                retire(self._own_client, RETIRE_AFTER)
            self._own_client = client
        log.info("reopened the embedded index: another process wrote to it")

    @contextmanager
    def reachable(self) -> Iterator[None]:
        """Turn Chroma failures that are not bugs into BotErrors: an unreachable server into
        IndexUnavailableError, a stale embedded view into IndexChangedError (after which the
        next Store or `reopen` reads the files afresh). Anything else is a bug: raised as is."""
        try:
            yield
        except BotError:
            raise
        except Exception as exc:
            error = index_error(self.settings, exc)
            if error is None and is_stale_view(self.settings, exc):
                forget_embedded(self.settings)
                self.opened_at = ""  # the next version() reopens this store
                error = IndexChangedError()
            if error is not None:
                raise error from exc
            raise

    def _open(self, client: Any, name: str, metadata: dict) -> Collection:
        try:
            return client.get_or_create_collection(
                name,
                metadata=metadata,
                configuration={"hnsw": self.settings.hnsw},
                embedding_function=_embedding_function(self.settings),
            )
        except Exception as exc:
            if "embedding function" in str(exc).lower():
                raise ModelMismatchError(str(exc)) from exc
            if is_unreachable(exc):
                raise unavailable(self.settings, exc) from exc
            raise

    def _recover_rebuild(self, client: Any) -> None:
        """Finish a rebuild interrupted between its two renames (the chunks collection is
        missing): the complete copy, else the original, takes the name back."""
        name = self.settings.collection
        with self.reachable():
            existing = {c.name: c for c in client.list_collections()}
        if name in existing:
            return
        copy = existing.get(f"{name}{REBUILDING}")
        if copy is not None and (copy.metadata or {}).get("rebuild") == "complete":
            chosen = copy
        else:
            chosen = existing.get(f"{name}{PREVIOUS}")
        if chosen is not None:
            log.warning("recovering the index from an interrupted rebuild (%s)", chosen.name)
            chosen.modify(name=name)

    def outdated_layout(self) -> list[str]:
        """How the chunk collection differs from the layout new collections get (empty: none)."""
        config = (self.chunks.configuration_json or {}).get("hnsw") or {}
        found = [f"{key} {config.get(key)} (now {value})"
                 for key, value in self.settings.hnsw.items()
                 if key != "space" and config.get(key) not in (None, value)]
        if not self.int_flags:
            found.append("filter flags stored as booleans (now integers, which Chroma indexes)")
        return found

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Copy every chunk, vectors included (nothing is embedded again), into a collection
        with the current layout, then swap it in; returns the number of chunks copied.

        The old collection is renamed aside and deleted only after the new one holds as many
        chunks and has taken its name, so an interrupted rebuild loses nothing: run it again.
        """
        name = self.settings.collection
        building, aside = f"{name}{REBUILDING}", f"{name}{PREVIOUS}"
        with self.reachable():
            existing = {c.name for c in self.client.list_collections()}
            for leftover in {building, aside} & existing:  # an earlier rebuild's, not needed
                self.client.delete_collection(leftover)
            metadata = {**(self.chunks.metadata or {}), **INT_FLAGS}
            metadata.pop("hnsw:space", None)
            target = self.client.create_collection(
                building, metadata=metadata, configuration={"hnsw": self.settings.hnsw},
                embedding_function=_embedding_function(self.settings))
            copied = 0
            for got in self.pages(self.chunks, ["documents", "metadatas", "embeddings"]):
                if not got["ids"]:
                    continue
                target.add(ids=got["ids"], documents=got["documents"],
                           metadatas=[indexable(m, True) for m in got["metadatas"]],
                           embeddings=got["embeddings"])
                copied += len(got["ids"])
                if progress:
                    progress(copied)
            if target.count() != self.chunks.count():
                raise BotError(f"rebuild copied {target.count()} chunks of "
                               f"{self.chunks.count()}; the index was left as it was")
            target.modify(metadata={**metadata, "rebuild": "complete"})
            self.chunks.modify(name=aside)  # from here until the next line, Store() recovers
            target.modify(name=name)
            target.modify(metadata=metadata)
            self.client.delete_collection(aside)
        self.chunks, self.int_flags = target, True
        self.mark_updated()
        return copied

    def _check_model(self, chunks: Any) -> None:
        built_with = (chunks.metadata or {}).get("embedding_model")
        if built_with and built_with != self.model:
            raise ModelMismatchError(
                f"The index was built with the embedding model {built_with!r} but "
                f"{self.model!r} is configured. Re-ingest into a fresh data directory "
                f"(delete {self.settings.data_dir} and run `vendorban ingest`), or set "
                f"VENDORBAN_EMBEDDING_MODEL={built_with}."
            )

    def record_dimension(self, dim: int) -> None:
        """Record the vector dimension on first write; a different one is a model mismatch."""
        meta = dict(self.chunks.metadata or {})
        if meta.get("embedding_dim") not in (None, dim):
            raise ModelMismatchError(
                f"The index holds {meta['embedding_dim']}-dimensional vectors but the model "
                f"makes {dim}-dimensional ones: re-ingest into a fresh data directory."
            )
        if meta.get("embedding_dim") is None:
            meta.update(embedding_model=self.model, embedding_dim=dim)
            meta.pop("hnsw:space", None)
            self.chunks.modify(metadata=meta)

    # ---- documents
    def doc_records(self) -> dict[str, DocumentRecord]:
        """Every document record, by document id."""
        records = {}
        for got in self.pages(self.docs, ["metadatas"]):
            records.update((i, decode_record(m))
                           for i, m in zip(got["ids"], got["metadatas"], strict=True)
                           if i != INDEX_RECORD)
        return records

    def pages(self, collection: Collection, include: list[str]) -> Iterator[dict]:
        """Every row of a collection, PAGE rows per read.

        Chroma's reader keeps memory in proportion to the largest read, and smaller reads cost
        no speed.
        """
        offset = 0
        while True:
            with self.reachable():
                got = collection.get(include=include, limit=PAGE, offset=offset)
            yield got
            if len(got["ids"]) < PAGE:
                return
            offset += PAGE

    def write_documents(
        self, records: Sequence[DocumentRecord], chunk_ids: Sequence[str], texts: Sequence[str],
        metas: Sequence[ChunkMeta], vectors: np.ndarray,
    ) -> None:
        """Replace several documents' chunks (given flat, in order), then their records.

        One delete and one upsert per call instead of three calls per document: with short
        documents the per-call cost, not embedding, dominated ingest (bench/results/ingest.json).
        """
        doc_ids = [r.doc_id for r in records]
        with self.reachable():
            self.chunks.delete(where={"doc_id": {"$in": doc_ids}})
            if len(vectors):
                self.record_dimension(int(vectors.shape[1]))
            step = max(1, min(self.client.get_max_batch_size(), 2000))
            for i in range(0, len(chunk_ids), step):
                self.chunks.upsert(
                    ids=list(chunk_ids[i : i + step]),
                    documents=list(texts[i : i + step]),
                    metadatas=[encode_chunk(m, self.int_flags) for m in metas[i : i + step]],
                    embeddings=vectors[i : i + step],
                )
            self.docs.upsert(ids=doc_ids, metadatas=[encode_record(r) for r in records],
                             embeddings=[[1.0]] * len(doc_ids))

    def delete_chunks(self, doc_id: str) -> None:
        """Remove every chunk of a document."""
        with self.reachable():
            self.chunks.delete(where={"doc_id": doc_id})

    def delete_document(self, doc_id: str) -> None:
        """Remove a document and its chunks."""
        self.delete_chunks(doc_id)
        with self.reachable():
            self.docs.delete(ids=[doc_id])

    def mark_updated(self) -> None:
        """Give the index a new version so other processes refresh their side indexes.

        The token is new for every write: two writers that read the same generation both write
        generation + 1 (the counter is for people), but never the same token.
        """
        generation = int(self.index_record().get("generation", 0)) + 1
        token = uuid.uuid4().hex
        record = {"generation": generation, "token": token, "updated_at": time.time()}
        with self.reachable():
            self.docs.upsert(ids=[INDEX_RECORD], metadatas=[record], embeddings=[[1.0]])
        self.opened_at = token  # this process's own write: its client has it already

    def index_record(self) -> dict:
        """The index's generation counter, version token and last update time."""
        with self.reachable():
            return _index_record(self.docs)

    def generation(self) -> int:
        """The index generation counter (for people; two concurrent writers can share one)."""
        return int(self.index_record().get("generation", 0))

    def version(self) -> str:
        """A token that changes whenever any process writes; one small read to poll. An
        embedded store that sees another process's write reopens its client first."""
        token = _token(self.index_record())
        if self.embedded and token != self.opened_at:
            self.reopen(token)
        return token

    # ---- chunks
    def count(self) -> int:
        """Number of chunks in the index."""
        with self.reachable():
            return self.chunks.count()

    def query(self, vector: Sequence[float], k: int, where: dict | None = None,
              ids: Sequence[str] | None = None) -> list[Passage]:
        """The k nearest chunks to a unit vector (matching `where`, or among `ids`); score is
        cosine similarity."""
        if ids is not None:
            return self._query(vector, k, None, ids)
        if where:
            found = self._prefiltered(vector, k, where)
            if found is not None:
                return found
        return self._query(vector, k, where)

    def _prefiltered(self, vector: Sequence[float], k: int, where: dict) -> list[Passage] | None:
        """Filter the unfiltered nearest k*OVERFETCH in Python; None when too few match.

        Chroma's filtered search first collects every matching id, so it is much slower than
        its unfiltered search at a large index; when k of the nearest candidates match, they
        are the k nearest matching chunks, so broad filters take the fast path.
        """
        candidates = self._nearest(vector, k * OVERFETCH, None)
        try:
            kept = [row for row in candidates if matches(row[2], where)]
        except Unsupported:
            return None
        if len(kept) >= k or len(candidates) < k * OVERFETCH:
            return [to_passage(*row) for row in kept[:k]]
        return None

    def _query(self, vector: Sequence[float], k: int, where: dict | None,
               ids: Sequence[str] | None = None) -> list[Passage]:
        return [to_passage(*row) for row in self._nearest(vector, k, where, ids)]

    def _nearest(self, vector: Sequence[float], k: int, where: dict | None,
                 ids: Sequence[str] | None = None) -> list[tuple[str, str, dict, float]]:
        """(id, text, stored metadata, cosine similarity) of the k nearest chunks."""
        with self.reachable():
            got = self.chunks.query(
                query_embeddings=[list(map(float, vector))], n_results=k,
                where=indexable(where, self.int_flags) or None,
                ids=list(ids) if ids is not None else None,
                include=["documents", "metadatas", "distances"],
            )
        rows = zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0],
                   strict=True)
        return [(i, d, m, 1.0 - dist) for i, d, m, dist in rows]

    def get(self, ids: Iterable[str] | None = None, where: dict | None = None,
            limit: int | None = None) -> list[Passage]:
        """Chunks by id or by metadata filter (score 0)."""
        with self.reachable():
            got = self.chunks.get(ids=list(ids) if ids is not None else None,
                                  where=indexable(where, self.int_flags) or None, limit=limit,
                                  include=["documents", "metadatas"])
        rows = zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        return [to_passage(i, d, m, 0.0) for i, d, m in rows]

    def get_with_similarity(self, ids: list[str], vector: np.ndarray) -> list[Passage]:
        """Chunks by id, scored by cosine similarity to a unit vector."""
        if not ids:
            return []
        import numpy as np

        with self.reachable():
            got = self.chunks.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        sims = np.asarray(got["embeddings"], dtype=np.float32) @ np.asarray(vector, np.float32)
        rows = zip(got["ids"], got["documents"], got["metadatas"], sims, strict=True)
        return [to_passage(i, d, m, float(s)) for i, d, m, s in rows]


def _index_record(docs: Any) -> dict:
    got = docs.get(ids=[INDEX_RECORD], include=["metadatas"])
    return (got["metadatas"] or [{}])[0] or {}


def _token(record: dict) -> str:
    """The version token of an index record (older records have only the counter)."""
    return str(record.get("token") or record.get("generation", 0))


def to_passage(chunk_id: str, text: str, meta: dict, score: float) -> Passage:
    """A Passage from a Chroma row."""
    chunk = decode_chunk(meta)
    return Passage(chunk_id=chunk_id, doc_id=chunk.doc_id, text=text, start=chunk.start,
                   end=chunk.end, meta=chunk, score=score, dense=score)

"""Bench data made at bench time from the real corpus: recombined documents and synthetic indexes.

Documents are real corpus sentences shuffled into new ~150-word chunks. Large indexes are built
without embedding every chunk: each synthetic chunk is a handful of real sentences, its vector the
normalised mean of those sentences' real embeddings plus a little noise (a chunk's embedding sits
near the mean of its sentences'), written through the Store's public write path
(`Store.write_documents`, as ingest writes) with the same metadata ingest writes, so the full
answer path (filters, citations) runs on it. HNSW parameters come from the settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from bot.core.config import Settings
from bot.core.dates import parse_partial_date
from bot.core.embeddings import get_ingest_embedder
from bot.core.schema import (
    INT_FLAGS,
    ChunkMeta,
    DocumentMeta,
    DocumentRecord,
)
from bot.core.sentences import split_sentences
from bot.core.store import Store
from ingest.documents import load_text_file

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
WORK = Path(os.environ.get("VENDORBAN_BENCH_DIR", "/tmp/vendorban-bench"))
COUNTRIES = ("United States", "Japan", "United Kingdom", "Australia", "New Zealand", "Canada",
             "Germany", "France", "India", "Sweden")
VENDORS = ("Huawei", "ZTE", "Hikvision")
OUTLETS = ("Reuters", "The Register", "Light Reading", "BBC News", "The Inquirer", "Nikkei")
CHUNKS_PER_DOC = 10


def bench_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for bench state only (no .env, nothing from the developer's data dir)."""
    return Settings(_env_file=None, data_dir=data_dir, corpus_dir=CORPUS, **overrides)


def real_sentences() -> list[str]:
    """Every full sentence of the shipped corpus (at least 6 words)."""
    out = []
    for path in sorted(CORPUS.glob("*.md")):
        doc = load_text_file(path, str(path))[0]
        for s, e in split_sentences(doc.text):
            sentence = " ".join(doc.text[s:e].split())
            if len(sentence.split()) >= 6 and sentence[-1] in ".!?\"”":
                out.append(sentence)
    return out


def recombined_chunk(rng: random.Random, sentences: list[str], words: int = 150) -> list[int]:
    """Indices of random sentences adding up to about `words` words."""
    picked, total = [], 0
    while total < words:
        i = rng.randrange(len(sentences))
        picked.append(i)
        total += len(sentences[i].split())
    return picked


def write_corpus(folder: Path, n_docs: int, chunks_per_doc: int = 2, seed: int = 7) -> Path:
    """n_docs Markdown documents with front matter, each ~chunks_per_doc x 150 words."""
    rng, sentences = random.Random(seed), real_sentences()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for n in range(n_docs):
        meta = doc_fields(rng, n)
        paragraphs = [" ".join(sentences[i] for i in recombined_chunk(rng, sentences))
                      for _ in range(chunks_per_doc)]
        front = "\n".join(f"{k}: {json.dumps(v)}" for k, v in meta.items())
        (folder / f"doc-{n:05d}.md").write_text(f"---\n{front}\n---\n" + "\n\n".join(paragraphs),
                                                encoding="utf-8")
    return folder


def doc_fields(rng: random.Random, n: int) -> dict:
    """Plausible front matter for synthetic document n."""
    published = date(2018, 1, 1) + timedelta(days=rng.randrange(7 * 365))
    return {"title": f"Synthetic report {n}: telecom vendor restrictions",
            "url": f"https://example.org/bench/{n}", "outlet": rng.choice(OUTLETS),
            "published": published.isoformat(), "kind": rng.choice(("article", "statement")),
            "countries": rng.sample(COUNTRIES, 2), "vendors": rng.sample(VENDORS, 1)}


def sentence_vectors(sentences: list[str]) -> np.ndarray:
    """Real embeddings of the corpus sentences (cached in the bench work dir)."""
    cache = WORK / f"sentences-{len(sentences)}.npy"
    if cache.exists():
        return np.load(cache)
    WORK.mkdir(parents=True, exist_ok=True)
    vectors = get_ingest_embedder(bench_settings(WORK / "unused")).embed(sentences)
    np.save(cache, vectors)
    return vectors


BATCH = 5_000  # synthetic chunks made and written per store call (CHUNKS_PER_DOC divides it)


def synthetic_batches(size: int, seed: int = 11,
                      batch: int | None = None) -> Iterator[tuple[list[str], np.ndarray]]:
    """(texts, unit vectors) of `size` synthetic chunks, `batch` at a time: the same chunks
    whatever the batch, so a million never sit in memory at once as text."""
    rng, sentences = random.Random(seed), real_sentences()
    base = sentence_vectors(sentences)
    noise = np.random.default_rng(seed)
    batch = batch or BATCH
    for at in range(0, size, batch):
        picks = [recombined_chunk(rng, sentences) for _ in range(min(batch, size - at))]
        vectors = np.stack([base[p].mean(axis=0) for p in picks]).astype(np.float32)
        vectors += noise.normal(0, 0.01, vectors.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        yield [" ".join(sentences[i] for i in p) for p in picks], vectors


def synthetic_chunks(size: int, seed: int = 11) -> tuple[list[str], np.ndarray]:
    """(texts, unit vectors) of `size` synthetic chunks, all at once (small sizes)."""
    texts: list[str] = []
    vectors = []
    for part, vecs in synthetic_batches(size, seed):
        texts.extend(part)
        vectors.append(vecs)
    return texts, np.concatenate(vectors)


def chunk_ids(size: int) -> list[str]:
    """The synthetic chunk ids, CHUNKS_PER_DOC to a document."""
    return [f"syn{n // CHUNKS_PER_DOC:06d}-{n % CHUNKS_PER_DOC:04d}" for n in range(size)]


def synthetic_index(size: int, progress: bool = False, grow: bool = False,
                    **overrides: object) -> tuple[Settings, np.ndarray, list[str]]:
    """A data dir of `size` synthetic chunks, built once per layout: settings (with `overrides`,
    e.g. hnsw_max_neighbors), the chunks' vectors (memory-mapped) and ids.

    The HNSW parameters fixed at creation are in the folder's name, so another layout builds
    anew; ef_search is not (the store applies the configured one when it opens). A build is
    written batch by batch and resumes where an interrupted one stopped. With `grow`, one
    folder per layout holds the first chunks of the sequence and is extended to `size` (the
    scale bench: 300k now, a million later, without writing the first 300k again).
    """
    probe = bench_settings(WORK, **overrides)
    layout = {"hnsw": {k: v for k, v in probe.hnsw.items() if k != "ef_search"}, **INT_FLAGS,
              "writer": "write_documents"}
    key = hashlib.sha1(json.dumps(layout, sort_keys=True).encode()).hexdigest()[:8]
    data = WORK / (f"grow-{key}" if grow else f"index-{size}-{key}")
    settings = bench_settings(data, **overrides)
    state = build_state(settings)
    target = max(size, state["written"]) if grow else size  # a grown index never shrinks
    if state["written"] < target:
        data.mkdir(parents=True, exist_ok=True)
        write_synthetic(Store(settings), target, state, progress)
    Store(settings)  # applies the configured ef_search
    count = build_state(settings)["written"]
    vectors = np.memmap(data / "vectors.f32", dtype=np.float32, mode="r")
    return settings, vectors.reshape(count, -1), chunk_ids(count)


def build_state(settings: Settings) -> dict:
    """A synthetic index's build record: chunks aimed at (`size`) and written, seconds spent."""
    path = settings.data_dir / "built.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"size": 0, "written": 0, "build_s": 0.0}


def write_synthetic(store: Store, size: int, state: dict, progress: bool = False) -> None:
    """Write synthetic chunks up to `size` through Store.write_documents, whole documents per
    call, with the document records and metadata ingest writes, from where `state` (the build
    record, saved after every batch) says the last build stopped; the vectors are appended to
    vectors.f32 (exact search for recall). Rewriting a half-written batch replaces it."""
    folder = store.settings.data_dir
    record, vectors_file = folder / "built.json", folder / "vectors.f32"
    state = dict(state, size=size)
    rng = random.Random(5)  # document metadata: drawn for every document, written or not
    ids = chunk_ids(size)
    at = 0
    for texts, vectors in synthetic_batches(size):
        part = ids[at : at + len(texts)]
        docs: dict[str, DocumentMeta] = {}
        metas = []
        for chunk_id, text in zip(part, texts, strict=True):
            doc_id = chunk_id.split("-")[0]
            if doc_id not in docs:
                docs[doc_id] = doc_meta(rng, doc_id)
            start = int(chunk_id.split("-")[1]) * 2000
            metas.append(ChunkMeta(**vars(docs[doc_id]), position=start // 2000, start=start,
                                   end=start + len(text)))
        if at + len(texts) > state["written"]:  # a batch written in part is written again
            started = time.perf_counter()
            counts = Counter(c.split("-")[0] for c in part)
            records = [DocumentRecord(**vars(m), n_chunks=counts[d]) for d, m in docs.items()]
            store.write_documents(records, part, texts, metas, vectors)
            with open(vectors_file, "r+b" if vectors_file.exists() else "wb") as out:
                out.truncate(at * vectors.shape[1] * 4)  # a half-written batch's vectors go
                out.seek(at * vectors.shape[1] * 4)
                out.write(np.ascontiguousarray(vectors, np.float32).tobytes())
            state.update(written=at + len(texts), hnsw=store.settings.hnsw,
                         build_s=round(state["build_s"] + time.perf_counter() - started, 1))
            record.write_text(json.dumps(state), encoding="utf-8")
            if progress and state["written"] % 50_000 == 0:
                print(f"  wrote {state['written']:,} of {size:,} chunks "
                      f"({state['build_s']:.0f} s)", flush=True)
        at += len(texts)
    store.mark_updated()


def doc_meta(rng: random.Random, doc_id: str) -> DocumentMeta:
    """Document metadata as ingest.pipeline.document_meta gives it."""
    fields = doc_fields(rng, int(doc_id[3:]))
    return DocumentMeta(
        doc_id=doc_id, doc_hash=doc_id, title=fields["title"], url=fields["url"],
        outlet=fields["outlet"], published=parse_partial_date(fields["published"]),
        kind=fields["kind"], source=fields["url"], countries=tuple(fields["countries"]),
        vendors=tuple(fields["vendors"]))


def link_export(settings: Settings) -> None:
    """Give a bench data dir the shared ONNX export (exported once per bench work dir)."""
    from bot.core.onnx_export import export_onnx

    shared = bench_settings(WORK / "export")
    export_onnx(shared)
    target = settings.data_dir / "onnx"
    if not target.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        target.symlink_to(shared.data_dir / "onnx", target_is_directory=True)

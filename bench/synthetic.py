"""Bench data made at bench time from the real corpus: recombined documents and synthetic indexes.

Documents are real corpus sentences shuffled into new ~150-word chunks. Large indexes are built
without embedding every chunk: each synthetic chunk is a handful of real sentences, its vector the
normalised mean of those sentences' real embeddings plus a little noise (a chunk's embedding sits
near the mean of its sentences'), written straight into Chroma through the Store with the same
metadata ingest writes, so the full answer path (filters, citations) runs on it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
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
    encode_chunk,
    encode_record,
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


def synthetic_chunks(size: int, seed: int = 11) -> tuple[list[str], np.ndarray, list[list[int]]]:
    """(texts, unit vectors, sentence indices) of `size` synthetic chunks."""
    rng, sentences = random.Random(seed), real_sentences()
    base = sentence_vectors(sentences)
    noise = np.random.default_rng(seed)
    picks = [recombined_chunk(rng, sentences) for _ in range(size)]
    vectors = np.stack([base[p].mean(axis=0) for p in picks]).astype(np.float32)
    vectors += noise.normal(0, 0.01, vectors.shape).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    texts = [" ".join(sentences[i] for i in p) for p in picks]
    return texts, vectors, picks


def synthetic_index(size: int, hnsw: dict | None = None) -> tuple[Settings, np.ndarray, list[str]]:
    """A data dir of `size` synthetic chunks, built once per layout: settings, vectors, ids."""
    from bot.core import store as store_module

    config = dict(hnsw or store_module.HNSW)
    ef_search = config.pop("ef_search", None)  # can change on a built index: not in the key
    layout = {"hnsw": config, **INT_FLAGS}  # a new layout builds anew
    key = hashlib.sha1(json.dumps(layout, sort_keys=True).encode()).hexdigest()
    data = WORK / f"index-{size}-{key[:8]}"
    settings = bench_settings(data)
    done = data / "built.json"
    texts, vectors, _ = synthetic_chunks(size)
    ids = [f"syn{n // CHUNKS_PER_DOC:06d}-{n % CHUNKS_PER_DOC:04d}" for n in range(size)]
    if done.exists():
        chunks = Store(settings).chunks
        if ef_search and chunks.configuration_json["hnsw"].get("ef_search") != ef_search:
            chunks.modify(configuration={"hnsw": {"ef_search": ef_search}})
        return settings, vectors, ids
    if data.exists():
        shutil.rmtree(data)
    saved = dict(store_module.HNSW)
    if hnsw is not None:
        store_module.HNSW.clear()
        store_module.HNSW.update(hnsw)
    try:
        write_synthetic(Store(settings), texts, vectors, ids)
    finally:
        store_module.HNSW.clear()
        store_module.HNSW.update(saved)
    done.write_text(json.dumps({"size": size, "hnsw": hnsw or saved}), encoding="utf-8")
    return settings, vectors, ids


def write_synthetic(store: Store, texts: list[str], vectors: np.ndarray, ids: list[str]) -> None:
    """Write chunks and document records with the metadata ingest writes (the schema's)."""
    rng = random.Random(5)
    store.record_dimension(int(vectors.shape[1]))
    docs: dict[str, DocumentMeta] = {}
    metas = []
    for chunk_id, text in zip(ids, texts, strict=True):
        doc_id = chunk_id.split("-")[0]
        if doc_id not in docs:
            docs[doc_id] = doc_meta(rng, doc_id)
        start = int(chunk_id.split("-")[1]) * 2000
        meta = ChunkMeta(**vars(docs[doc_id]), position=start // 2000, start=start,
                         end=start + len(text))
        metas.append(encode_chunk(meta, store.int_flags))
    step = min(store.client.get_max_batch_size(), 5000)
    for at in range(0, len(ids), step):
        store.chunks.add(ids=ids[at : at + step], documents=texts[at : at + step],
                         metadatas=metas[at : at + step], embeddings=vectors[at : at + step])
    records = [encode_record(DocumentRecord(**vars(m), n_chunks=CHUNKS_PER_DOC))
               for m in docs.values()]
    for at in range(0, len(records), step):
        part = records[at : at + step]
        store.docs.upsert(ids=[m["doc_id"] for m in part], metadatas=part,
                          embeddings=[[1.0]] * len(part))
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

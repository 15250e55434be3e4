"""Warm query latency of the full answer path, a LangChain baseline, filters, and HNSW recall."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from bench.questions import QUESTIONS
from bench.report import percentiles
from bench.synthetic import WORK, bench_settings, link_export, synthetic_chunks, synthetic_index
from bot.core.assistant import Assistant
from bot.core.embeddings import get_embedder
from bot.core.filters import Filters
from bot.core.store import Store
from bot.evaluation.baseline import langchain_store
from bot.render.data import answer_to_dict

if TYPE_CHECKING:
    from langchain_chroma import Chroma

# Chroma's own defaults for ef_construction/ef_search/M, as settings
CHROMA_DEFAULT_HNSW = {"hnsw_ef_construction": 100, "hnsw_ef_search": 100,
                       "hnsw_max_neighbors": 16}
FILTERS = {
    "country=Japan": Filters(country="Japan"),
    "vendor=ZTE": Filters(vendor="ZTE"),
    "since=2023-01-01": Filters(since=date(2023, 1, 1)),
    "country+vendor+since": Filters(country="Germany", vendor="Huawei", since=date(2020, 1, 1)),
}


def time_asks(assistant: Assistant, rounds: int, filters: Filters | None = None) -> list[float]:
    """Seconds per question for ask -> answer_to_dict -> json.dumps, after a warm-up round."""
    for question in QUESTIONS[:3]:
        json.dumps(answer_to_dict(assistant.ask(question, filters)))
    samples = []
    for n in range(rounds):
        question = QUESTIONS[n % len(QUESTIONS)]
        started = time.perf_counter()
        json.dumps(answer_to_dict(assistant.ask(question, filters)))
        samples.append(time.perf_counter() - started)
    return samples


def time_langchain(db: Chroma, rounds: int) -> list[float]:
    db.similarity_search(QUESTIONS[0], k=8)
    samples = []
    for n in range(rounds):
        started = time.perf_counter()
        db.similarity_search(QUESTIONS[n % len(QUESTIONS)], k=8)
        samples.append(time.perf_counter() - started)
    return samples


def run_query(quick: bool) -> dict:
    """p50/p95 of Assistant.ask at each size, beside LangChain's similarity_search."""
    sizes = (1_000, 10_000) if quick else (1_000, 10_000, 100_000)
    rounds = 40 if quick else 120
    rows, filtered, goals = [], [], {10_000: 50.0, 100_000: 150.0}
    for size in sizes:
        settings, _, _ = synthetic_index(size)
        link_export(settings)
        assistant = Assistant(settings)
        store = assistant.store
        embedder = get_embedder(settings)
        ask = percentiles(time_asks(assistant, rounds))
        embed = percentiles(_timed(lambda q, e=embedder: e.embed([q]), rounds))
        vector = embedder.embed([QUESTIONS[1]])[0]
        chroma = percentiles(_timed(lambda q, s=store, v=vector: s.query(v, 24), rounds))
        lc = percentiles(time_langchain(langchain_store(settings, store.client), rounds))
        goal = goals.get(size)
        rows.append({"chunks": size, "backend": embedder.backend,
                     "ask_p50_ms": ask["p50_ms"], "ask_p95_ms": ask["p95_ms"],
                     "embed_p50_ms": embed["p50_ms"], "chroma_top24_p50_ms": chroma["p50_ms"],
                     "langchain_p50_ms": lc["p50_ms"], "langchain_p95_ms": lc["p95_ms"],
                     "goal_p95_ms": goal or "",
                     "met": "" if goal is None else ask["p95_ms"] <= goal})
        if size == sizes[-1]:
            for name, f in FILTERS.items():
                got = percentiles(time_asks(assistant, rounds // 2, f))
                filtered.append({"chunks": size, "filter": name, "ask_p50_ms": got["p50_ms"],
                                 "ask_p95_ms": got["p95_ms"], "goal_p95_ms": goal or "",
                                 "met": "" if goal is None else got["p95_ms"] <= goal})
    return {"tables": {"warm query latency (full answer path vs LangChain)": rows,
                       "filtered queries at the largest size": filtered},
            "hnsw": settings.hnsw, "rounds": rounds}


def _timed(call: Callable[[str], object], rounds: int) -> list[float]:
    samples = []
    for n in range(rounds):
        question = QUESTIONS[n % len(QUESTIONS)]
        started = time.perf_counter()
        call(question)
        samples.append(time.perf_counter() - started)
    return samples


def recall_at_10(store: Store, vectors: np.ndarray, ids: list[str], queries: np.ndarray,
                 block: int = 100_000) -> float:
    """Mean share of the exact (numpy brute force, in blocks of rows) top 10 that HNSW returns
    through Store.query."""
    best = np.full((len(queries), 10), -np.inf, np.float32)
    where = np.zeros((len(queries), 10), np.int64)
    for at in range(0, len(vectors), block):
        sims = queries @ np.asarray(vectors[at : at + block]).T
        top = np.argpartition(-sims, 9, axis=1)[:, :10]
        cand = np.concatenate([best, np.take_along_axis(sims, top, axis=1)], axis=1)
        cand_ids = np.concatenate([where, top + at], axis=1)
        keep = np.argsort(-cand, axis=1)[:, :10]
        best = np.take_along_axis(cand, keep, axis=1)
        where = np.take_along_axis(cand_ids, keep, axis=1)
    hits = []
    for row, query in zip(where, queries, strict=True):
        found = {p.chunk_id for p in store.query(query, 10)}
        hits.append(len({ids[i] for i in row} & found) / 10)
    return float(np.mean(hits))


def run_recall(quick: bool) -> dict:
    """HNSW recall@10 vs brute force: the project's settings beside Chroma's defaults."""
    sizes = (10_000,) if quick else (10_000, 100_000)
    _, queries = synthetic_chunks(200, seed=99)  # held-out chunks: near, not equal, to the data
    rows = []
    for size in sizes:
        variants: list[tuple[str, dict]] = [("project", {})]
        if size <= 10_000:  # another 100k build would take minutes; defaults shown at 10k
            variants.append(("chroma defaults", CHROMA_DEFAULT_HNSW))
        for label, hnsw in variants:
            started = time.perf_counter()
            settings, vectors, ids = synthetic_index(size, **hnsw)
            built = time.perf_counter() - started
            store = Store(settings)
            recall = recall_at_10(store, vectors, ids, queries)
            config = settings.hnsw
            rows.append({"chunks": size, "settings": label,
                         "M": config["max_neighbors"], "ef_c": config["ef_construction"],
                         "ef_s": config["ef_search"], "recall@10": round(recall, 4),
                         "goal": 0.98, "met": recall >= 0.98, "build_or_open_s": round(built, 1)})
    return {"tables": {"HNSW recall@10 vs exact search": rows}, "hnsw": bench_settings(WORK).hnsw,
            "queries": len(queries)}

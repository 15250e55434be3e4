"""Running the gold set through the assistant, calibrating abstention, gating on floors."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

from bot.core.assistant import Assistant
from bot.core.embeddings import get_embedder
from bot.evaluation.gold import EVAL_DIR, GoldItem
from bot.evaluation.metrics import ItemResult, judge, summarise

FLOORS = EVAL_DIR / "floors.yaml"
GATED_MAX = {"wrong_speaker"}  # metrics where the floor is a ceiling


def run(items: Sequence[GoldItem], assistant: Assistant, use_embedding_check: bool = True
        ) -> list[ItemResult]:
    """Ask every gold question and judge the answer."""
    embed = get_embedder(assistant.settings).embed if use_embedding_check else None
    results = []
    for item in items:
        started = time.perf_counter()
        answer = assistant.ask(item.question)
        seconds = time.perf_counter() - started
        retrieved = assistant.passages(item.question, k=5)
        results.append(judge(item, answer, retrieved, seconds, embed))
    return results


def calibrate(items: Sequence[GoldItem], assistant: Assistant,
              thresholds: Sequence[float]) -> list[dict]:
    """Abstention accuracy and answer rate for each candidate threshold (dev set)."""
    original = assistant.settings.min_relevance
    rows = []
    try:
        for threshold in thresholds:
            assistant.settings.min_relevance = threshold
            metrics = summarise(run(items, assistant, use_embedding_check=False))
            rows.append({"threshold": threshold, **{k: metrics[k] for k in
                         ("abstention_accuracy", "answer_rate", "key_fact_recall")}})
    finally:
        assistant.settings.min_relevance = original
    return rows


def check_floors(metrics: dict, floors_path: Path = FLOORS) -> list[str]:
    """The metrics that fall below their recorded floor (or exceed a ceiling)."""
    floors = yaml.safe_load(floors_path.read_text(encoding="utf-8")) or {}
    failures = []
    for name, floor in floors.items():
        value = metrics.get(name)
        if value is None:
            failures.append(f"{name}: not measured")
        elif name in GATED_MAX and value > floor:
            failures.append(f"{name} = {value} > {floor}")
        elif name not in GATED_MAX and value < floor:
            failures.append(f"{name} = {value} < floor {floor}")
    return failures


def table(metrics: dict) -> str:
    """Metrics as a two-column text table."""
    width = max(len(k) for k in metrics)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in metrics.items())


def failures_report(results: Sequence[ItemResult]) -> list[str]:
    """One line per item that lost points, for reading after a run."""
    lines = []
    for r in results:
        item = r.item
        if item.answerable:
            missing = len(item.key_facts) - r.facts_found
            if not r.answer.found or missing or (r.rank or 99) > 5:
                lines.append(f"{item.id} [{item.type}] found={r.answer.found} rank={r.rank} "
                             f"facts {r.facts_found}/{len(item.key_facts)}: {item.question}")
        elif r.answer.found:
            lines.append(f"{item.id} [unanswerable] answered: {item.question}")
    return lines


def write_json(path: Path, metrics: dict, results: Sequence[ItemResult]) -> None:
    """Metrics and per-item outcomes as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    items = [{"id": r.item.id, "type": r.item.type, "found": r.answer.found, "rank": r.rank,
              "facts_found": r.facts_found, "facts": len(r.item.key_facts),
              "answerer": r.answer.answerer, "ms": round(r.seconds * 1000, 1)} for r in results]
    path.write_text(json.dumps({"metrics": metrics, "items": items}, indent=2), encoding="utf-8")

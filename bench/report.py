"""Benchmark results: the machine they ran on, a printed table, and a JSON file per benchmark."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
PACKAGES = ("torch", "sentence-transformers", "transformers", "onnxruntime", "tokenizers",
            "chromadb", "numpy", "langchain-chroma", "langchain-huggingface", "bm25s")


def machine() -> dict:
    """CPU count and model, RAM, Python and the versions of the packages that matter here."""
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    except OSError:
        pass
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu_count": os.cpu_count(), "cpu_model": cpu_model,
            "ram_gb": round(ram_kb / 1024 / 1024, 1), "python": sys.version.split()[0],
            "platform": platform.platform(), "load_avg": os.getloadavg(), "packages": versions}


def percentiles(samples: list[float]) -> dict:
    """p50 and p95 (in milliseconds) of samples given in seconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p95_ms": round(p95 * 1000, 2), "n": len(ordered)}


def table(title: str, rows: list[dict]) -> str:
    """A plain-text table of rows (dicts sharing keys)."""
    if not rows:
        return f"{title}\n  (no rows)"
    keys = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_cell(row.get(k, "")) for k in keys] for row in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    lines = [title, "  " + "  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))]
    lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True))
              for cell in cells]
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def save(name: str, result: dict, quick: bool) -> Path:
    """Print the result's tables and write bench/results/<name>.json (with the machine)."""
    for title, rows in result.get("tables", {}).items():
        print(table(f"\n== {name}: {title}", rows))
    for note in result.get("notes", []):
        print(f"  note: {note}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    body = {"benchmark": name, "quick": quick, "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
            time.gmtime()), "machine": machine(), **result}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(body, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
    return path

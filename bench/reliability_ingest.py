"""Reliability of ingest: killed at random moments and run again, it ends where a clean run does.

`run()` ingests the shipped corpus once cleanly, then, into a second data dir, starts
`vendorban ingest` several times and SIGKILLs it at a random moment of its run (seeded), and
finally lets one run finish. It compares documents, chunks and document hashes with the clean
run, and times sentence splitting of large hostile inputs (the splitter once was quadratic).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENDORBAN_")}
    env.update(VENDORBAN_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    return env


def _ingest(data_dir: Path, kill_after: float | None = None) -> tuple[int | None, float]:
    """One `vendorban ingest corpus/` run; with `kill_after`, SIGKILLed then (if still running)."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "ingest", "--quiet", str(CORPUS)],
                            env=_env(data_dir), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=kill_after if kill_after is not None else 1800)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        return None, time.monotonic() - started
    return proc.returncode, time.monotonic() - started


def _index(data_dir: Path) -> dict:
    from bot.core.config import Settings
    from bot.core.store import Store

    store = Store(Settings(_env_file=None, data_dir=data_dir, corpus_dir=CORPUS))
    records = store.doc_records()
    return {"documents": len(records), "chunks": store.count(),
            "hashes": {doc: record.doc_hash for doc, record in records.items()}}


def crash_and_rerun(work: Path, kills: int, seed: int = 7) -> dict:
    """Documents and chunks after `kills` killed runs and one finished run, vs a clean run."""
    code, clean_seconds = _ingest(work / "clean")
    if code:
        raise RuntimeError(f"clean ingest exited {code}")
    clean = _index(work / "clean")
    rng = random.Random(seed)
    killed = 0
    for _ in range(kills):
        code, _ = _ingest(work / "crashed", kill_after=rng.uniform(0.2, 1.0) * clean_seconds)
        killed += code is None
    code, _ = _ingest(work / "crashed")
    after = _index(work / "crashed")
    return {"clean_ingest_seconds": round(clean_seconds, 1), "runs_killed": killed,
            "final_run_exit": code, "documents_clean": clean["documents"],
            "documents_after_crashes": after["documents"], "chunks_clean": clean["chunks"],
            "chunks_after_crashes": after["chunks"],
            "same_documents_and_hashes": clean["hashes"] == after["hashes"]}


def split_timings(sizes_kb: tuple[int, ...]) -> list[dict]:
    """Seconds to split normal prose and a run of full stops of each size."""
    from bot.core.sentences import split_sentences

    prose = "The U.S. Dept. of Commerce said on Jan. 5 that Huawei Inc. was listed. "
    rows = []
    for kb in sizes_kb:
        row: dict = {"size_kb": kb}
        for name, unit in (("prose", prose), ("full_stops", ". ")):
            text = unit * (kb * 1024 // len(unit))
            started = time.perf_counter()
            split_sentences(text)
            row[f"{name}_seconds"] = round(time.perf_counter() - started, 3)
        rows.append(row)
    return rows


def run(quick: bool = True, work: Path | None = None) -> dict:
    root = Path(work or tempfile.mkdtemp(prefix="vendorban-reliability-ingest-"))
    crash = crash_and_rerun(root, kills=3 if quick else 8)
    splits = split_timings((64, 512) if quick else (64, 512, 5 * 1024))
    print(*(f"{k}={v}" for k, v in crash.items()))
    return {"crash": crash, "splits": splits}


if __name__ == "__main__":
    run(quick="--full" not in sys.argv)

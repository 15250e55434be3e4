"""Cold start of `vendorban ask` and of a serving process, and a serving process's peak memory."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from bench.questions import QUESTIONS
from bench.synthetic import (
    CORPUS,
    ROOT,
    WORK,
    bench_settings,
    link_export,
    synthetic_index,
)
from bot.core.config import Settings
from ingest.pipeline import ingest


def corpus_data() -> Settings:
    """The shipped corpus in the bench work dir (ingest is idempotent: unchanged documents cost
    a hash, edited ones are replaced), with the ONNX export."""
    settings = bench_settings(WORK / "corpus-data")
    report = ingest([CORPUS], settings, prune=True, progress=False)
    assert not report.failed, report.failed
    link_export(settings)
    return settings


def env_for(settings: Settings, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENDORBAN_")}
    env.update(VENDORBAN_DATA_DIR=str(settings.data_dir), PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1",
               **extra)
    return env


def time_ask(settings: Settings, runs: int, **extra: str) -> list[float]:
    """Wall seconds of `python -m bot.cli ask` subprocesses, start to exit."""
    samples = []
    for n in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "bot.cli", "ask", QUESTIONS[1 + n % 3]],
                              env=env_for(settings, **extra), cwd=str(WORK), capture_output=True,
                              text=True, timeout=300, check=False)
        samples.append(time.perf_counter() - started)
        assert done.returncode == 0, done.stderr
    return samples


def serve_probe(settings: Settings, rounds: int, **extra: str) -> dict:
    """Run bench.serve_probe in a fresh process and return what it measured."""
    started = time.time()
    done = subprocess.run([sys.executable, "-m", "bench.serve_probe", str(rounds)],
                          env=env_for(settings, **extra), cwd=str(ROOT), capture_output=True,
                          text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    probe["first_answer_s"] = round(probe.pop("first_answer_at") - started, 3)
    return probe


def time_serve(settings: Settings, **extra: str) -> float:
    """Wall seconds from starting `vendorban serve` to its first 200 from POST /api/ask."""
    import httpx

    from bench.concurrency_bench import free_port

    port = free_port()
    env = env_for(settings, VENDORBAN_PORT=str(port), VENDORBAN_HOST="127.0.0.1", **extra)
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], env=env, cwd=str(WORK),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < 120:
            try:
                reply = httpx.post(f"http://127.0.0.1:{port}/api/ask", timeout=30,
                                   json={"question": QUESTIONS[1]})
                if reply.status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "vendorban serve exited"
            time.sleep(0.02)
        raise AssertionError("vendorban serve gave no answer within 120 s")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def run_coldstart(quick: bool) -> dict:
    """Median wall time of `vendorban ask` (ONNX vs torch); of `vendorban serve` to its first
    HTTP answer; and of the core alone (bench.serve_probe) to its first answer."""
    settings = corpus_data()
    runs = 3 if quick else 5
    rows = []
    for backend in ("auto", "torch"):
        samples = time_ask(settings, runs, VENDORBAN_EMBEDDING_BACKEND=backend)
        probe = serve_probe(settings, 1, VENDORBAN_EMBEDDING_BACKEND=backend)
        serve = statistics.median(time_serve(settings, VENDORBAN_EMBEDDING_BACKEND=backend)
                                  for _ in range(runs))
        worst = max(statistics.median(samples), serve)
        rows.append({"backend": probe["backend"], "ask_median_s": statistics.median(samples),
                     "ask_min_s": min(samples), "ask_max_s": max(samples), "runs": runs,
                     "serve_http_first_answer_s": round(serve, 3),
                     "core_first_answer_s": probe["first_answer_s"],
                     "torch_imported": probe["torch_imported"],
                     "goal_s": 2.0 if backend == "auto" else "",
                     "met": worst <= 2.0 if backend == "auto" else ""})
    return {"tables": {"cold start (shipped corpus)": rows}}


def run_memory(quick: bool) -> dict:
    """Peak RSS and time to the first answer of a serving process at the largest index size:
    building the BM25 side index from Chroma, then again with it cached in the data dir."""
    size = 10_000 if quick else 100_000
    settings, _, _ = synthetic_index(size)
    link_export(settings)
    shutil.rmtree(settings.data_dir / "lexical", ignore_errors=True)
    rows = []
    for backend, bm25 in (("auto", "built from Chroma"), ("auto", "loaded from cache"),
                          ("torch", "loaded from cache")):
        probe = serve_probe(settings, 30, VENDORBAN_EMBEDDING_BACKEND=backend)
        rows.append({"chunks": probe["chunks"], "backend": probe["backend"], "bm25_index": bm25,
                     "peak_rss_mb": probe["peak_rss_mb"],
                     "first_answer_s": probe["first_answer_s"],
                     "goal_mb": 800, "met": probe["peak_rss_mb"] <= 800})
    return {"tables": {"serving process peak RSS (VmHWM)": rows}}

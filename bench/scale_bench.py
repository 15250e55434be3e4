"""`python -m bench scale [--size N]`: a million chunks on one machine, and throughput over cores.

- **Index**: N synthetic chunks (default 1,000,000) written through the store
  (bench.synthetic, grown in place and resumable: WORK/grow-<layout>); the time of the first build
  (writing time summed over resumed runs) and of reopening it in a fresh process.
- **BM25 side index**: built from the store in a fresh process (pages streamed), its peak RSS
  and its cache size on disk.
- **Serving**: a real `vendorban serve` on 127.0.0.1, time until /readyz answers 200 with the
  BM25 cache in place; warm POST /api/ask p50/p95 unfiltered and with each filter; the serving
  process's RSS and peak RSS after them.
- **Recall**: HNSW recall@10 through Store.query against exact search over held-out queries.
- **Throughput** at 10k chunks, 32 concurrent clients: `serve --workers 1` vs `--workers 2`;
  then scale-out: two `vendorban serve` replicas on different ports sharing one `chroma run`,
  the clients spread over both, at 32 and at 96 clients, with what failed first.

Every figure is printed beside the 100k figures in bench/results (query, memory, recall,
concurrency) and written to bench/results/scale.json with the load average at each step: figures
taken while the machine was busy say so.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.questions import QUESTIONS
from bench.report import RESULTS, percentiles
from bench.synthetic import ROOT, WORK, build_state, link_export, synthetic_chunks, synthetic_index

SIZE = 1_000_000
THROUGHPUT_SIZE = 10_000
CLIENTS = 32
FILTERS = {"country=Japan": {"country": "Japan"}, "vendor=ZTE": {"vendor": "ZTE"},
           "since=2023-01-01": {"since": "2023-01-01"},
           "country+vendor+since": {"country": "Germany", "vendor": "Huawei",
                                    "since": "2020-01-01"}}
GOALS = {"ready_s": 60.0, "ask_p95_ms": 300.0, "serving_rss_mb": 3072.0, "recall": 0.98,
         "workers_ratio": 1.7}
READY_TIMEOUT = 900.0  # seconds a serving process may take to answer /readyz


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> dict:
    """Current and peak resident memory of a process, from /proc."""
    got = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                got[line.split(":")[0]] = round(int(line.split()[1]) / 1024, 1)
    return {"rss_mb": got.get("VmRSS"), "peak_rss_mb": got.get("VmHWM")}


def env_for(data_dir: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENDORBAN_")}
    env.update(VENDORBAN_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1",
               VENDORBAN_RATE_LIMIT_PER_MINUTE=str(10**9), VENDORBAN_LOG_QUESTIONS="false",
               **extra)
    return env


# ---- a child process: reopen the index, or build the BM25 side index, and print JSON
def child_main(task: str, data_dir: str) -> None:
    from bench.synthetic import bench_settings

    settings = bench_settings(Path(data_dir))
    started = time.perf_counter()
    from bot.core.store import Store

    store = Store(settings)
    if task == "reopen":
        opened = time.perf_counter() - started
        store.query([1.0] + [0.0] * 383, 10)
        print(json.dumps({"open_s": round(opened, 2),
                          "first_query_s": round(time.perf_counter() - started, 2)}))
        return
    from bot.core import lexical

    cache = settings.data_dir / "lexical" / settings.collection
    shutil.rmtree(cache, ignore_errors=True)
    snapshot = lexical.build(store, store.version(), cache)
    size = sum(f.stat().st_size for f in cache.glob("bm25-*"))
    print(json.dumps({"chunks": len(snapshot), "terms": len(snapshot.vocab),
                      "build_s": round(time.perf_counter() - started, 1),
                      "cache_mb": round(size / 2**20, 1), **rss_mb(os.getpid())}))


def run_child(task: str, data_dir: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "bench.scale_bench", task, str(data_dir)],
                          env=env_for(data_dir), cwd=str(ROOT), capture_output=True, text=True,
                          timeout=7200, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- real `vendorban serve` processes
@contextmanager
def serving(data_dir: Path, workers: int = 1, log_name: str = "serve",
            **extra: str) -> Iterator[dict]:
    """A `vendorban serve` subprocess on a free port of 127.0.0.1: {url, pid, ready_s} once
    every worker answers /readyz 200 (ready_s: seconds from its start)."""
    import httpx

    port = free_port()
    log = WORK / f"{log_name}.log"
    command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--workers", str(workers)]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env_for(data_dir, **extra), cwd=str(WORK),
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    url = f"http://127.0.0.1:{port}"
    try:
        ready: set[int] = set()
        while len(ready) < workers:
            assert proc.poll() is None, f"serve exited: {log.read_text()[-2000:]}"
            assert time.perf_counter() - started < READY_TIMEOUT, "serve was never ready"
            try:
                with httpx.Client(timeout=30) as client:  # a new connection: any worker
                    reply = client.get(f"{url}/readyz")
                if reply.status_code == 200:
                    ready.add(reply.json()["worker"])
                    continue
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # between probes
        yield {"url": url, "pid": proc.pid, "ready_s": round(time.perf_counter() - started, 2),
               "log": log}
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def time_http_asks(url: str, rounds: int, filters: dict | None = None) -> dict:
    """p50/p95 of sequential POST /api/ask after a warm-up round (each must answer 200)."""
    import httpx

    samples = []
    with httpx.Client(timeout=120) as client:
        for n in range(-3, rounds):
            body: dict = {"question": QUESTIONS[n % len(QUESTIONS)]}
            if filters:
                body["filters"] = filters
            started = time.perf_counter()
            reply = client.post(f"{url}/api/ask", json=body)
            took = time.perf_counter() - started
            assert reply.status_code == 200, reply.text[:300]
            if n >= 0:
                samples.append(took)
    return percentiles(samples)


async def _client(urls: list[str], until: float, n: int, latencies: list[float],
                  statuses: dict[str, int]) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=60) as client:
        while time.perf_counter() < until:
            url = urls[n % len(urls)]  # round robin over replicas, as a load balancer would
            started = time.perf_counter()
            try:
                reply = await client.post(f"{url}/api/ask",
                                          json={"question": QUESTIONS[n % len(QUESTIONS)]})
                key = str(reply.status_code)
            except Exception as exc:  # counted by kind
                key = type(exc).__name__
            statuses[key] = statuses.get(key, 0) + 1
            if key == "200":
                latencies.append(time.perf_counter() - started)
            n += 1


def hammer(urls: list[str], clients: int, seconds: float) -> dict:
    """`clients` concurrent clients for `seconds`: requests/s answered 200, p50/p95, statuses."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    until = time.perf_counter() + seconds

    async def everyone() -> None:
        await asyncio.gather(*(_client(urls, until, n, latencies, statuses)
                               for n in range(clients)))

    started = time.perf_counter()
    asyncio.run(everyone())
    elapsed = time.perf_counter() - started
    stats = percentiles(latencies) if latencies else {"p50_ms": None, "p95_ms": None}
    return {"clients": clients, "seconds": round(elapsed, 1),
            "ok_per_s": round(len(latencies) / elapsed, 1), "p50_ms": stats["p50_ms"],
            "p95_ms": stats["p95_ms"], "statuses": statuses, "load_avg": load()}


def problems(log: Path, limit: int = 5) -> list[str]:
    """The first warning and error lines of a serving log."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    found = [line for line in lines if re.match(r"(WARNING|ERROR|CRITICAL)", line)]
    return found[:limit]


# ---- the parts
def part_index(size: int) -> tuple[dict, object, object, list[str]]:
    started = time.perf_counter()
    settings, vectors, ids = synthetic_index(size, progress=True, grow=True)
    link_export(settings)
    state = build_state(settings)
    reopen = run_child("reopen", settings.data_dir)
    row = {"chunks": len(ids), "first_build_s": state["build_s"],
           "this_run_build_s": round(time.perf_counter() - started, 1),
           "reopen_s": reopen["open_s"], "reopen_first_query_s": reopen["first_query_s"],
           "disk_mb": round(sum(f.stat().st_size for f in settings.chroma_path.rglob("*")
                                if f.is_file()) / 2**20), "load_avg": load()}
    return row, settings, vectors, ids


def part_serving(settings: object, rounds: int) -> tuple[dict, list[dict]]:
    bm25 = run_child("bm25", settings.data_dir)  # leaves its cache for serve
    bm25_row = {"chunks": bm25["chunks"], "terms": bm25["terms"], "build_s": bm25["build_s"],
                "peak_rss_mb": bm25["peak_rss_mb"], "cache_mb": bm25["cache_mb"],
                "load_avg": load()}
    asks = []
    with serving(settings.data_dir, log_name="scale-serve") as serve:
        ready = serve["ready_s"]
        for name, filters in [("unfiltered", None), *FILTERS.items()]:
            got = time_http_asks(serve["url"], rounds, filters)
            asks.append({"filter": name, "p50_ms": got["p50_ms"], "p95_ms": got["p95_ms"],
                         "goal_p95_ms": GOALS["ask_p95_ms"],
                         "met": got["p95_ms"] <= GOALS["ask_p95_ms"], "load_avg": load()})
        memory = rss_mb(serve["pid"])
    serve_row = {"ready_from_bm25_cache_s": ready, "goal_s": GOALS["ready_s"],
                 "met": ready <= GOALS["ready_s"], **memory,
                 "goal_rss_mb": GOALS["serving_rss_mb"],
                 "rss_met": (memory["peak_rss_mb"] or 0) <= GOALS["serving_rss_mb"],
                 "load_avg": load()}
    return {"bm25": bm25_row, "serve": serve_row}, asks


def part_recall(settings: object, vectors: object, ids: list[str], queries: int) -> dict:
    from bench.query_bench import recall_at_10
    from bot.core.store import Store

    _, held_out = synthetic_chunks(queries, seed=99)  # near, not equal, to the data
    started = time.perf_counter()
    recall = recall_at_10(Store(settings), vectors, ids, held_out)
    return {"chunks": len(ids), "queries": queries, "recall@10": round(recall, 4),
            "goal": GOALS["recall"], "met": recall >= GOALS["recall"],
            "hnsw": settings.hnsw, "seconds": round(time.perf_counter() - started, 1),
            "load_avg": load()}


def part_workers(seconds: float) -> list[dict]:
    settings, _, _ = synthetic_index(THROUGHPUT_SIZE)
    link_export(settings)
    rows = []
    for workers in (1, 2):
        with serving(settings.data_dir, workers, log_name=f"workers-{workers}") as serve:
            hammer([serve["url"]], 4, 3)  # warm every worker's caches
            got = hammer([serve["url"]], CLIENTS, seconds)
        rows.append({"chunks": THROUGHPUT_SIZE, "workers": workers, **got,
                     "problems": problems(serve["log"])})
    ratio = rows[1]["ok_per_s"] / rows[0]["ok_per_s"] if rows[0]["ok_per_s"] else 0.0
    rows[1]["vs_1_worker"] = round(ratio, 2)
    rows[1]["goal"] = GOALS["workers_ratio"]
    rows[1]["met"] = ratio >= GOALS["workers_ratio"]
    return rows


def part_scale_out(seconds: float) -> list[dict]:
    """Two replicas on one `chroma run` (a copy of the 10k index), clients round-robin."""
    settings, _, _ = synthetic_index(THROUGHPUT_SIZE)
    served = WORK / "scale-out"
    shutil.rmtree(served, ignore_errors=True)
    shutil.copytree(settings.chroma_path, served / "chroma")
    port = free_port()
    chroma_log = WORK / "scale-out-chroma.log"
    chroma = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path",
                               str(served / "chroma"), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=chroma_log.open("w"), stderr=subprocess.STDOUT)
    rows = []
    try:
        chroma_url = f"http://127.0.0.1:{port}"
        replicas = []
        for n in range(2):  # each replica has its own data dir (ONNX export, BM25 cache)
            data = served / f"replica-{n}"
            data.mkdir(parents=True)
            (data / "onnx").symlink_to(settings.data_dir / "onnx", target_is_directory=True)
            replicas.append(data)
        with serving(replicas[0], log_name="scale-out-0", VENDORBAN_CHROMA_URL=chroma_url) as a, \
                serving(replicas[1], log_name="scale-out-1", VENDORBAN_CHROMA_URL=chroma_url) as b:
            urls = [a["url"], b["url"]]
            hammer(urls, 4, 3)
            for clients in (CLIENTS, 3 * CLIENTS):
                got = hammer(urls, clients, seconds)
                rows.append({"chunks": THROUGHPUT_SIZE, "replicas": 2, "chroma": "chroma run",
                             **got, "replica_rss_mb": [rss_mb(a["pid"])["rss_mb"],
                                                       rss_mb(b["pid"])["rss_mb"]],
                             "chroma_rss_mb": rss_mb(chroma.pid)["rss_mb"]})
            for row in rows:
                row["problems"] = problems(a["log"], 3) + problems(b["log"], 3)
    finally:
        chroma.terminate()
        try:
            chroma.wait(30)
        except subprocess.TimeoutExpired:
            chroma.kill()
            chroma.wait(10)
    return rows


def previous_figures() -> dict:
    """The 100k figures of earlier runs (bench/results), for the side-by-side table."""
    def rows(name: str, title: str) -> list[dict]:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            return []
        return json.loads(path.read_text(encoding="utf-8")).get("tables", {}).get(title, [])

    query = rows("query", "warm query latency (full answer path vs LangChain)")
    filtered = rows("query", "filtered queries at the largest size")
    memory = rows("memory", "serving process peak RSS (VmHWM)")
    recall = rows("recall", "HNSW recall@10 vs exact search")
    concurrency = rows("concurrency", "concurrent POST /api/ask")
    at = [r for r in query if r.get("chunks") == 100_000]
    cached = [r for r in memory if r.get("bm25_index") == "loaded from cache"
              and r.get("backend") == "onnx"]
    built = [r for r in memory if r.get("bm25_index") == "built from Chroma"]
    return {
        "ask p95 ms (unfiltered)": at[0]["ask_p95_ms"] if at else None,
        "ask p95 ms (filters, worst)": max((r["ask_p95_ms"] for r in filtered), default=None),
        "serving peak RSS MB (BM25 cache)": cached[0]["peak_rss_mb"] if cached else None,
        "start to first answer s (BM25 cache)": cached[0]["first_answer_s"] if cached else None,
        "start to first answer s (BM25 built)": built[0]["first_answer_s"] if built else None,
        "recall@10": next((r["recall@10"] for r in recall if r.get("chunks") == 100_000
                           and r.get("settings") == "project"), None),
        "10k, 32 clients, req/s (in-process server)": (concurrency[0]["req_per_s"]
                                                       if concurrency else None),
    }


def side_by_side(before: dict, result: dict) -> list[dict]:
    index, serve, bm25 = result["index"], result["serve"], result["bm25"]
    asks = {r["filter"]: r for r in result["asks"]}
    worst = max((r["p95_ms"] for r in result["asks"] if r["filter"] != "unfiltered"),
                default=None)
    now = {
        "ask p95 ms (unfiltered)": asks["unfiltered"]["p95_ms"],
        "ask p95 ms (filters, worst)": worst,
        "serving peak RSS MB (BM25 cache)": serve["peak_rss_mb"],
        "start to first answer s (BM25 cache)": serve["ready_from_bm25_cache_s"],
        "start to first answer s (BM25 built)": None,
        "recall@10": result["recall"]["recall@10"],
        "10k, 32 clients, req/s (in-process server)": None,
    }
    rows = [{"figure": k, "100k (bench/results)": before.get(k), f"{index['chunks']:,}": v}
            for k, v in now.items()]
    rows.append({"figure": "BM25 build s / peak RSS MB / cache MB", "100k (bench/results)": "",
                 f"{index['chunks']:,}": f"{bm25['build_s']} / {bm25['peak_rss_mb']} / "
                                         f"{bm25['cache_mb']}"})
    return rows


def run_scale(quick: bool, size: int | None = None) -> dict:
    """Every part in turn (see the module docstring)."""
    size = size or (20_000 if quick else SIZE)
    rounds, seconds = (20, 8) if quick else (60, 30)
    result: dict = {"size_asked": size, "load_avg_at_start": load()}
    index, settings, vectors, ids = part_index(size)
    result["index"] = index
    print(f"  index: {index}", flush=True)
    parts, asks = part_serving(settings, rounds)
    result |= parts
    result["asks"] = asks
    print(f"  bm25: {parts['bm25']}\n  serve: {parts['serve']}", flush=True)
    result["recall"] = part_recall(settings, vectors, ids, 50 if quick else 200)
    print(f"  recall: {result['recall']}", flush=True)
    result["workers"] = part_workers(seconds)
    result["scale_out"] = part_scale_out(seconds)
    chunks = f"{index['chunks']:,} chunks"
    tables = {
        f"side by side: 100k figures vs {chunks}": side_by_side(previous_figures(), result),
        f"index ({chunks})": [index],
        "BM25 side index build (fresh process)": [parts["bm25"]],
        "vendorban serve": [parts["serve"]],
        f"warm POST /api/ask over HTTP, {chunks}, {rounds} each": asks,
        "HNSW recall@10 vs exact": [result["recall"]],
        f"serve --workers, {THROUGHPUT_SIZE:,} chunks, {CLIENTS} clients":
            [{k: v for k, v in r.items() if k != "problems"} for r in result["workers"]],
        "scale-out: 2 replicas, one chroma run":
            [{k: v for k, v in r.items() if k != "problems"} for r in result["scale_out"]],
    }
    return {"tables": tables, "details": result}


if __name__ == "__main__":
    child_main(sys.argv[1], sys.argv[2])

"""32 concurrent clients on `POST /api/ask` (needs the HTTP server, bot.server.app)."""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import threading
import time

from bench.questions import QUESTIONS
from bench.report import percentiles
from bench.synthetic import link_export, synthetic_index

CLIENTS = 32


def server_available() -> bool:
    """True when the HTTP server module (another part of the project) is present."""
    try:
        return importlib.util.find_spec("bot.server.app") is not None
    except ModuleNotFoundError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def client_loop(url: str, until: float, n: int, latencies: list[float],
                      statuses: dict[int, int]) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=60) as client:
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                reply = await client.post(url, json={"question": QUESTIONS[n % len(QUESTIONS)]})
                statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
            except Exception:  # counted as a failed request
                statuses[0] = statuses.get(0, 0) + 1
            latencies.append(time.perf_counter() - started)
            n += CLIENTS


def run_concurrency(quick: bool) -> dict:
    """Requests/s and latency with 32 clients for a bounded time against a local server."""
    if not server_available():
        print("skipped: server not available")
        return {"skipped": "server not available", "tables": {}}
    import uvicorn

    from bot.core.assistant import Assistant
    from bot.server.app import create_app

    size, seconds = 10_000, 10 if quick else 30
    settings, _, _ = synthetic_index(size)
    link_export(settings)
    settings = settings.model_copy(update={"rate_limit_per_minute": 10**9, "port": free_port()})
    assistant = Assistant(settings)
    assistant.ask(QUESTIONS[0])
    server = uvicorn.Server(uvicorn.Config(create_app(settings, assistant), host="127.0.0.1",
                                           port=settings.port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):  # bounded wait for the socket
        if server.started:
            break
        time.sleep(0.05)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    url = f"http://127.0.0.1:{settings.port}/api/ask"
    until = time.perf_counter() + seconds

    async def all_clients() -> None:
        await asyncio.gather(*(client_loop(url, until, n, latencies, statuses)
                               for n in range(CLIENTS)))

    started = time.perf_counter()
    asyncio.run(all_clients())
    elapsed = time.perf_counter() - started
    server.should_exit = True
    thread.join(timeout=10)
    stats = percentiles(latencies)
    row = {"chunks": size, "clients": CLIENTS, "seconds": round(elapsed, 1),
           "requests": len(latencies), "req_per_s": len(latencies) / elapsed,
           "p50_ms": stats["p50_ms"], "p95_ms": stats["p95_ms"],
           "ok": statuses.get(200, 0),
           "other_status": {k: v for k, v in statuses.items() if k != 200}}
    return {"tables": {"concurrent POST /api/ask": [row]}}

"""Flood a real `vendorban serve` with signed Slack commands on loopback, then SIGTERM it.

`python -m bench.reliability_serve [--count N] [--clients C] [--seconds S] [--grace G]`, or
`run(...)` from Python. Every command's response_url is a local receiver; the figures say what
became of each request: acknowledged (and then answered, told to ask again, or left silent), busy
replies, 5xx, the worst lag from acknowledgement to answer, and the server's memory before and
after the flood. Bounded by `count` requests and `seconds` of flooding.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import httpx

SECRET = "bench-reliability-secret"
QUESTIONS = ("What did Suga say?", "Which countries have banned Huawei?", "What did BT announce?",
             "Why did Sweden exclude Huawei and ZTE?", "What did Geng Shuang say?")
ROOT = Path(__file__).resolve().parent.parent


class Replies:
    """The response_url stand-in: when each path got each post (a burst-sized listen backlog)."""

    def __init__(self) -> None:
        self.posts: dict[str, list[tuple[float, dict]]] = {}
        self._lock = threading.Lock()
        replies = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with replies._lock:
                    replies.posts.setdefault(self.path, []).append((time.monotonic(),
                                                                    json.loads(body)))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket.listen(4096)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def start(data_dir: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`vendorban serve --port 0` on `data_dir`; (process, base URL) once /readyz says ready."""
    command = [str(Path(sys.executable).parent / "vendorban"), "serve", "--port", "0"]
    values = {"VENDORBAN_DATA_DIR": str(data_dir), "VENDORBAN_CORPUS_DIR": str(ROOT / "corpus"),
              "VENDORBAN_SLACK_SIGNING_SECRET": SECRET, "HF_HUB_OFFLINE": "1",
              "VENDORBAN_RATE_LIMIT_PER_MINUTE": "1000000"} | env
    process = subprocess.Popen(command, env=os.environ | values, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        found = re.search(r"Web page:\s+(http://\S+?)/?$", line.strip())
        if found:
            base = found.group(1)
            break
    else:
        raise RuntimeError("vendorban serve exited before printing its address")
    deadline = time.monotonic() + 600  # an empty data dir is ingested first
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("vendorban serve did not become ready")


def flood(base: str, replies: Replies, count: int, clients: int, seconds: float) -> dict:
    """Signed commands from `clients` threads until `count` are sent or `seconds` pass."""
    numbers = iter(range(count))
    sent = 0
    lock = threading.Lock()
    acked: dict[str, float] = {}
    busy = errors = other = 0
    stop = time.monotonic() + seconds

    def client() -> None:
        nonlocal busy, errors, other, sent
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < stop:
                with lock:
                    i = next(numbers, None)
                    sent += i is not None
                if i is None:
                    return
                path = f"/r/{i}"
                body = urlencode({"team_id": "T1", "user_id": f"U{i}", "command": "/vendorban",
                                  "text": f"{QUESTIONS[i % len(QUESTIONS)]} ({i})",
                                  "trigger_id": uuid.uuid4().hex,
                                  "response_url": replies.url + path}).encode()
                stamp = str(int(time.time()))
                digest = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + body,
                                  hashlib.sha256).hexdigest()
                try:
                    response = http.post(f"{base}/slack/commands", content=body, headers={
                        "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}",
                        "Content-Type": "application/x-www-form-urlencoded"})
                except httpx.HTTPError:
                    with lock:
                        other += 1
                    continue
                with lock:
                    if response.status_code >= 500:
                        errors += 1
                    elif "Searching" in response.text:
                        acked[path] = time.monotonic()
                    elif "busy" in response.text:
                        busy += 1
                    else:
                        other += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"sent": sent, "acked": acked, "busy": busy, "errors_5xx": errors, "other": other}


def run(count: int = 3000, clients: int = 50, seconds: float = 60.0, grace: float = 20.0,
        max_queue_seconds: float = 30.0, data_dir: Path | None = None) -> dict:
    """Flood, SIGTERM, and the figures (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="vendorban-reliability-") as tmp:
        data = Path(tmp) / "data"
        if data_dir is not None:
            shutil.copytree(data_dir, data)
        replies = Replies()
        process, base = start(data, {"VENDORBAN_SHUTDOWN_GRACE_SECONDS": str(grace),
                                     "VENDORBAN_MAX_QUEUE_SECONDS": str(max_queue_seconds)})
        try:
            before = rss_mb(process.pid)
            started = time.monotonic()
            sent = flood(base, replies, count, clients, seconds)
            flooded = time.monotonic() - started
            after = rss_mb(process.pid)
            process.send_signal(signal.SIGTERM)
            code = process.wait(grace + 120)
        finally:
            if process.poll() is None:
                process.kill()
            replies.close()
    acked = sent["acked"]
    got = {path: replies.posts.get(path, []) for path in acked}
    answered = [path for path, posts in got.items() if posts and "blocks" in posts[0][1]]
    lags = [got[path][0][0] - acked[path] for path in answered]
    figures = {
        "sent": sent["sent"], "flood_seconds": round(flooded, 1), "acknowledged": len(acked),
        "answered": len(answered),
        "told_to_ask_again": sum(1 for posts in got.values() if posts
                                 and "restarting" in str(posts[0][1].get("text", ""))),
        "silent": sum(1 for posts in got.values() if not posts),
        "answered_twice": sum(1 for posts in got.values() if len(posts) > 1),
        "busy_replies": sent["busy"], "errors_5xx": sent["errors_5xx"],
        "other_failures": sent["other"],
        "median_lag_seconds": round(statistics.median(lags), 1) if lags else None,
        "p95_lag_seconds": round(statistics.quantiles(lags, n=20)[-1], 1) if len(lags) > 1
        else None,
        "worst_lag_seconds": round(max(lags), 1) if lags else None,
        "rss_mb_before": before, "rss_mb_after_flood": after, "exit_code": code,
    }
    for key, value in figures.items():
        print(f"{key:>20}: {value}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--grace", type=float, default=20.0)
    parser.add_argument("--max-queue-seconds", type=float, default=30.0)
    parser.add_argument("--data-dir", type=Path, help="an indexed data dir to copy (default: "
                                                      "ingest the corpus into a fresh one)")
    args = parser.parse_args()
    run(args.count, args.clients, args.seconds, args.grace, args.max_queue_seconds, args.data_dir)


if __name__ == "__main__":
    main()

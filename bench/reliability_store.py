"""Reliability of the index under another writer and a frozen Chroma server (issue 17).

`run()` starts `vendorban serve` on an embedded index holding half the corpus, floods it with
questions while `vendorban ingest` adds the other half from a second process, and counts replies
by status during and after the ingest, whether the new documents are cited, and how long after
the ingest the first answer citing them came. With the `chroma` CLI installed it also freezes a
`chroma run` server (SIGSTOP) under a serving process and times the 503 that answers instead.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
QUESTIONS = ("Which countries have banned Huawei?", "What does section 889 ban?",
             "Why did the GCSB reject Spark's proposal?", "What did Canada decide about 5G?")
NEW_QUESTION = "What did Sweden's regulator PTS decide about Huawei and ZTE?"
CHROMA = Path(sys.executable).parent / "chroma"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENDORBAN_")}
    env.update(VENDORBAN_DATA_DIR=str(data_dir), VENDORBAN_EMBEDDING_BACKEND="torch",
               VENDORBAN_RATE_LIMIT_PER_MINUTE="1000000", PYTHONPATH=str(ROOT),
               HF_HUB_OFFLINE="1", **extra)
    return env


def _ingest(folder: Path, env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "bot.cli", "ingest", "--quiet", str(folder)],
                          env=env, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode:
        raise RuntimeError(f"ingest failed: {done.stderr[-2000:]}")


class _Server:
    """`vendorban serve --port 0`; the address is read from its start-up lines."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", "0"],
                                     env=env, cwd=cwd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.url, self.found = "", threading.Event()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout or ():
            match = re.search(r"Web page:\s+(http://\S+?)/\s*$", line)
            if match:
                self.url = match.group(1)
                self.found.set()

    def wait_ready(self, timeout: float = 300.0) -> None:
        if not self.found.wait(timeout):
            raise RuntimeError("vendorban serve printed no address")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("vendorban serve exited")
            if httpx.get(f"{self.url}/readyz", timeout=30).status_code == 200:
                return
            time.sleep(0.2)
        raise RuntimeError("vendorban serve never became ready")

    def ask(self, question: str, timeout: float = 120.0) -> httpx.Response:
        return httpx.post(f"{self.url}/api/ask", json={"question": question}, timeout=timeout)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _cites(reply: httpx.Response, names: set[str]) -> bool:
    if reply.status_code != 200:
        return False
    return any(Path(c.get("source") or "").name in names for c in reply.json()["citations"])


def concurrent_writer(work: Path, clients: int = 2, tail: float = 10.0) -> dict:
    """One server, one writer process on the default embedded index."""
    work.mkdir(parents=True)
    first, later = work / "first", work / "later"
    for folder, prefix in ((first, "ap-"), (later, "eu-")):
        folder.mkdir()
        for path in sorted(CORPUS.glob(f"{prefix}*.md")):
            shutil.copy(path, folder / path.name)
    env = _env(work / "data")
    _ingest(first, env)
    server = _Server(env, work)
    replies: list[tuple[float, int]] = []
    stop = threading.Event()

    def ask(offset: int) -> None:
        n = offset
        while not stop.is_set():
            try:
                code = server.ask(QUESTIONS[n % len(QUESTIONS)]).status_code
            except httpx.HTTPError:
                code = 599  # no reply at all counts with the 5xx
            replies.append((time.monotonic(), code))
            n += 1

    try:
        server.wait_ready()
        threads = [threading.Thread(target=ask, args=(i,), daemon=True) for i in range(clients)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        _ingest(later, env)
        ended = time.monotonic()
        names = {p.name for p in later.glob("*.md")}
        recovered = None
        while recovered is None and time.monotonic() < ended + 120:
            if _cites(server.ask(NEW_QUESTION), names):
                recovered = time.monotonic() - ended
        deadline = time.monotonic() + tail
        while time.monotonic() < deadline:  # traffic after the ingest, as in issue 17
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(150)
    finally:
        stop.set()
        server.stop()
    during = [code for at, code in replies if started <= at <= ended]
    after = [code for at, code in replies if at > ended]
    return {"requests": len(replies), "during_ingest": len(during), "after_ingest": len(after),
            "errors_5xx": sum(code >= 500 for _, code in replies),
            "errors_5xx_during": sum(code >= 500 for code in during),
            "errors_5xx_after": sum(code >= 500 for code in after),
            "ingest_seconds": round(ended - started, 1),
            "new_documents": len(names), "new_documents_cited": recovered is not None,
            "seconds_to_first_new_citation": None if recovered is None else round(recovered, 2)}


def frozen_server(work: Path, timeout: float = 2.0) -> dict:
    """Seconds until a question is answered 503 while the Chroma server is frozen (SIGSTOP)."""
    work.mkdir(parents=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = subprocess.Popen([str(CHROMA), "run", "--path", str(work / "chroma"), "--host",
                               "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    env = _env(work / "frozen-data", VENDORBAN_CHROMA_URL=url,
               VENDORBAN_CHROMA_TIMEOUT=str(timeout))
    server = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        folder = work / "frozen-corpus"
        folder.mkdir()
        shutil.copy(CORPUS / "ap-03-new-zealand-gcsb-spark.md", folder)
        _ingest(folder, env)
        server = _Server(env, work)
        server.wait_ready()
        os.kill(chroma.pid, signal.SIGSTOP)
        asked = time.monotonic()
        status = server.ask(QUESTIONS[2], timeout=300).status_code
        seconds = time.monotonic() - asked
        os.kill(chroma.pid, signal.SIGCONT)
        return {"chroma_timeout": timeout, "frozen_status": status,
                "seconds_to_reply": round(seconds, 2)}
    finally:
        if chroma.poll() is None:
            os.kill(chroma.pid, signal.SIGCONT)
            chroma.terminate()
            chroma.wait(timeout=30)
        if server is not None:
            server.stop()


def run(quick: bool = True, work: Path | None = None) -> dict:
    """Both scenarios; prints and returns the figures."""
    root = Path(work or tempfile.mkdtemp(prefix="vendorban-reliability-store-"))
    root.mkdir(parents=True, exist_ok=True)
    figures = {"concurrent_writer": concurrent_writer(root / "writer", clients=2 if quick else 4,
                                                      tail=10.0 if quick else 40.0)}
    if CHROMA.exists():
        figures["frozen_chroma_server"] = frozen_server(root / "frozen")
    for name, values in figures.items():
        print(name, *(f"{k}={v}" for k, v in values.items()))
    return figures


if __name__ == "__main__":
    run(quick="--full" not in sys.argv)

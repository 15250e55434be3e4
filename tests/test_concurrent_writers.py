"""One `vendorban serve` and one writer process on the same embedded index (the default setup):
the server keeps answering while the writer ingests, and answers from the new documents after."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS, ROOT

pytestmark = pytest.mark.slow  # real `vendorban serve` and ingest processes

FIRST = ("ap-01-japan-procurement-policy.md", "ap-03-new-zealand-gcsb-spark.md",
         "ap-04-us-ndaa-section-889.md")
LATER = ("eu-08-sweden-pts-bans-huawei-zte.md", "eu-11-sweden-court-upholds-ban.md")
QUESTIONS = ("Which countries have banned Huawei?", "What does section 889 ban?",
             "Why did the GCSB reject Spark's proposal?")
NEW_QUESTION = "What did Sweden's regulator PTS decide about Huawei and ZTE?"


def environment(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENDORBAN_")}
    env.update(VENDORBAN_DATA_DIR=str(data_dir), VENDORBAN_EMBEDDING_BACKEND="torch",
               VENDORBAN_RATE_LIMIT_PER_MINUTE="100000", PYTHONPATH=str(ROOT),
               HF_HUB_OFFLINE="1")
    return env


def corpus(folder: Path, names: tuple[str, ...]) -> Path:
    folder.mkdir()
    for name in names:
        shutil.copy(CORPUS / name, folder / name)
    return folder


def ingest(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`vendorban ingest` in a process of its own."""
    return subprocess.run([sys.executable, "-m", "bot.cli", "ingest", "--quiet", str(folder)],
                          env=env, capture_output=True, text=True, timeout=300, check=False)


class Serving:
    """A `vendorban serve --port 0` process; its address is read from what it prints."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--port", "0"], env=env, cwd=cwd,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        self.address = threading.Event()
        self.url = ""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            found = re.search(r"Web page:\s+(http://\S+?)/\s*$", line)
            if found:
                self.url = found.group(1)
                self.address.set()

    def wait_ready(self, timeout: float = 120.0) -> None:
        assert self.address.wait(timeout), "".join(self.output)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "".join(self.output)
            if httpx.get(f"{self.url}/readyz", timeout=10).status_code == 200:
                return
            time.sleep(0.2)
        raise AssertionError("the server never became ready:\n" + "".join(self.output))

    def ask(self, question: str) -> httpx.Response:
        return httpx.post(f"{self.url}/api/ask", json={"question": question}, timeout=60)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[Serving, dict[str, str]]]:
    env = environment(tmp_path / "data")
    done = ingest(corpus(tmp_path / "first", FIRST), env)
    assert done.returncode == 0, done.stderr
    server = Serving(env, tmp_path)
    try:
        server.wait_ready()
        yield server, env
    finally:
        server.stop()


def test_serving_survives_another_process_ingesting_and_answers_its_documents(serving, tmp_path):
    """Issue 17: the server got HTTP 500 ("Error finding id") during and after an ingest by
    another process until restarted; now no 5xx, and the new documents are cited."""
    server, env = serving
    statuses: list[tuple[int, str]] = []
    stop, answered = threading.Event(), threading.Condition()

    def ask_in_a_loop() -> None:
        n = 0
        while not stop.is_set():
            reply = server.ask(QUESTIONS[n % len(QUESTIONS)])
            with answered:
                statuses.append((reply.status_code, reply.text[:200]))
                answered.notify_all()
            n += 1

    asker = threading.Thread(target=ask_in_a_loop, daemon=True)
    asker.start()
    try:
        done = ingest(corpus(tmp_path / "later", LATER), env)
        assert done.returncode == 0, done.stderr
        during = len(statuses)
        with answered:  # a few questions after the write, for the BM25 refresh
            answered.wait_for(lambda: len(statuses) >= during + 2 * len(QUESTIONS), 60)
    finally:
        stop.set()
        asker.join(timeout=90)
    assert during > 0, "no question was asked while the other process ingested"
    assert [s for s in statuses if s[0] >= 500] == []
    assert all(code == 200 for code, _ in statuses)

    reply = server.ask(NEW_QUESTION)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["found"]
    sources = {Path(c["source"]).name for c in body["citations"]}
    assert sources & set(LATER), sources

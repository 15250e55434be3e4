"""A Chroma server that stops answering (frozen, port still open) or is not up yet when
`vendorban serve` starts: answers say "unavailable" within VENDORBAN_CHROMA_TIMEOUT, and the
server connects once Chroma answers, without a restart."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import ingest
from tests.conftest import CORPUS, make_settings
from tests.test_chroma_server import CHROMA, GCSB, ChromaServer, free_port
from tests.test_concurrent_writers import Serving, environment

pytestmark = [pytest.mark.slow,  # a real `chroma run` server, frozen and restarted
              pytest.mark.skipif(not CHROMA.exists(), reason="the chroma CLI is not installed")]
QUESTION = "Why did the GCSB reject Spark's proposal to use Huawei for 5G?"
TIMEOUT = "2"  # VENDORBAN_CHROMA_TIMEOUT in these tests
PATIENCE = 45.0  # what the test waits for any one reply: far above TIMEOUT, far below a hang


def fill(server: ChromaServer, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / GCSB, corpus / GCSB)
    settings = make_settings(tmp_path / "ingest-data", chroma_url=server.url)
    assert ingest([corpus], settings, progress=False).new == 1


def poll(check: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def serving_env(tmp_path: Path, url: str) -> dict[str, str]:
    env = environment(tmp_path / "serve-data")
    env.update(VENDORBAN_CHROMA_URL=url, VENDORBAN_CHROMA_TIMEOUT=TIMEOUT)
    return env


def readyz(serving: Serving) -> httpx.Response:
    return httpx.get(f"{serving.url}/readyz", timeout=PATIENCE)


def test_a_frozen_chroma_server_is_reported_unavailable_not_waited_on(tmp_path):
    chroma = ChromaServer(tmp_path / "chroma", free_port())
    chroma.start()
    serving = None
    try:
        fill(chroma, tmp_path)
        env = serving_env(tmp_path, chroma.url)
        serving = Serving(env, tmp_path)
        serving.wait_ready()
        assert serving.ask(QUESTION).json()["found"]

        os.kill(chroma.proc.pid, signal.SIGSTOP)  # the port stays open, nothing answers
        reply = httpx.post(f"{serving.url}/api/ask", json={"question": QUESTION},
                           timeout=PATIENCE)
        assert reply.status_code == 503
        assert "unavailable right now; try again shortly" in reply.json()["error"]
        probe = readyz(serving)
        assert probe.status_code == 503 and probe.json()["status"] == "unavailable"
        cli = subprocess.run([sys.executable, "-m", "bot.cli", "ask", QUESTION], env=env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=PATIENCE * 2)
        assert cli.returncode == 1 and "unavailable right now" in cli.stderr, cli.stderr

        os.kill(chroma.proc.pid, signal.SIGCONT)
        poll(lambda: serving.ask(QUESTION).status_code == 200)
        assert serving.ask(QUESTION).json()["found"]
    finally:
        if chroma.proc is not None and chroma.proc.poll() is None:
            os.kill(chroma.proc.pid, signal.SIGCONT)
        if serving is not None:
            serving.stop()
        chroma.stop()


def test_serve_started_while_chroma_is_down_waits_for_it_and_then_answers(tmp_path):
    chroma = ChromaServer(tmp_path / "chroma", free_port())
    serving = Serving(serving_env(tmp_path, chroma.url), tmp_path)
    try:
        assert serving.address.wait(120), "".join(serving.output)

        def unavailable() -> bool:
            assert serving.proc.poll() is None, "".join(serving.output)
            return readyz(serving).json()["status"] == "unavailable"

        poll(unavailable)
        chroma.start()
        fill(chroma, tmp_path)
        poll(lambda: readyz(serving).status_code == 200)
        reply = serving.ask(QUESTION)
        assert reply.status_code == 200 and reply.json()["found"]
    finally:
        serving.stop()
        chroma.stop()

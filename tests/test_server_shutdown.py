"""SIGTERM on a real `vendorban serve` with acknowledged questions queued: every one gets exactly
one reply, an answer or a "restarting, please ask again", at a local response_url receiver."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from bot.chat.workload import RESTARTING
from tests.conftest import CORPUS
from tests.server_support import SLACK_SECRET, Receiver, slack_headers

pytestmark = pytest.mark.slow  # a real `vendorban serve` process, SIGTERM under load

QUEUED = 600


def start_serve(data_dir: Path, log: Path, **env: str) -> tuple[subprocess.Popen, str]:
    """`vendorban serve --port 0` on the indexed corpus; (process, base URL) once it is ready."""
    values = {"VENDORBAN_DATA_DIR": str(data_dir), "VENDORBAN_CORPUS_DIR": str(CORPUS),
              "VENDORBAN_SLACK_SIGNING_SECRET": SLACK_SECRET,
              "VENDORBAN_EMBEDDING_BACKEND": "torch",
              "VENDORBAN_RATE_LIMIT_PER_MINUTE": "100000", "HF_HUB_OFFLINE": "1"} | env
    command = [str(Path(sys.executable).parent / "vendorban"), "serve", "--port", "0"]
    process = subprocess.Popen(command, env=os.environ | values, stdout=subprocess.PIPE,
                               stderr=log.open("w"), text=True)
    base = ""
    for line in process.stdout:  # the URLs are printed once the port is bound
        found = re.search(r"Web page:\s+(http://\S+?)/?$", line.strip())
        if found:
            base = found.group(1)
            break
    assert base, "serve printed no URL"
    with httpx.Client(timeout=5) as client:
        for _ in range(600):  # bounded: the model loads in well under a minute
            if client.get(f"{base}/readyz").status_code == 200:
                return process, base
            assert process.poll() is None, "serve exited during start-up"
            time.sleep(0.1)
    raise AssertionError("serve did not become ready")


def slack_command(client: httpx.Client, base: str, url: str, text: str) -> httpx.Response:
    body = urlencode({"team_id": "T1", "user_id": f"U{uuid.uuid4().hex[:6]}",
                      "command": "/vendorban", "text": text, "trigger_id": uuid.uuid4().hex,
                      "response_url": url}).encode()
    return client.post(f"{base}/slack/commands", content=body, headers=slack_headers(body))


@pytest.fixture
def receiver():
    got = Receiver()
    got.server.socket.listen(1024)  # like Slack, take a burst of connections (default backlog: 5)
    yield got
    got.close()


def test_sigterm_leaves_no_acknowledged_command_without_a_reply(corpus_index, receiver, tmp_path):
    data_dir = tmp_path / "data"  # a private copy: the session's own assistant reads the original
    shutil.copytree(corpus_index[0].data_dir, data_dir)
    log = tmp_path / "serve.log"
    process, base = start_serve(data_dir, log, VENDORBAN_MAX_QUEUE_SECONDS="3600",
                                VENDORBAN_SHUTDOWN_GRACE_SECONDS="1")
    try:
        questions = ["What did Suga say?", "Which countries have banned Huawei?",
                     "What did BT announce?", "Why did Sweden exclude Huawei?"]

        def send(i: int) -> int | None:
            with httpx.Client(timeout=10) as client:  # a new question each time: no cache helps
                response = slack_command(client, base, f"{receiver.url}/r/{i}",
                                         f"{questions[i % len(questions)]} ({i})")
            return i if response.status_code == 200 and "Searching" in response.text else None

        with ThreadPoolExecutor(8) as pool:
            acked = [i for i in pool.map(send, range(QUEUED)) if i is not None]
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal once its shutdown is over: -SIGTERM is a clean exit
        assert process.wait(90) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert len(acked) == QUEUED
    by_path: dict[str, list[dict]] = {}
    for post in receiver.posts:
        by_path.setdefault(post["path"], []).append(post["json"])
    silent = [i for i in acked if f"/r/{i}" not in by_path]
    problems = [line for line in log.read_text().splitlines() if "delivery" in line]
    print(*problems[:20], sep="\n")
    repeated = [path for path, posts in by_path.items() if len(posts) > 1]
    assert silent == [] and repeated == []
    farewells = [p for [p] in by_path.values() if p.get("text") == RESTARTING]
    answers = [p for [p] in by_path.values() if p.get("blocks")]
    print(f"acknowledged {len(acked)}, answered {len(answers)}, told to ask again "
          f"{len(farewells)}")
    assert len(answers) + len(farewells) == QUEUED
    assert all(p["response_type"] == "ephemeral" for p in farewells)

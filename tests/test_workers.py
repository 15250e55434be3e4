"""`vendorban serve --workers 2`: two real processes on one port share rate limits, replay checks
and conversations through the data directory. Each test sends requests over keep-alive
connections known to reach different workers (a connection's worker is read from /healthz, and
each request is checked to have gone over that same connection)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import CORPUS
from tests.server_support import SLACK_SECRET, slack_headers

pytestmark = pytest.mark.slow  # real `vendorban serve --workers 2` processes

WORKERS = 2


class Worker:
    """A keep-alive connection to one worker process, from a given local address (the rate
    limit's key is the client's address)."""

    def __init__(self, base: str, source: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=60,
                                   transport=httpx.HTTPTransport(local_address=source))
        health = self.client.get("/healthz")
        self.pid, self.port = health.json()["worker"], _local_port(health)

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        response = self.client.request(method, path, **kwargs)
        assert _local_port(response) == self.port, "the connection was replaced"
        return response


def _local_port(response: httpx.Response) -> int:
    return response.extensions["network_stream"].get_extra_info("client_addr")[1]


@pytest.fixture(scope="module")
def workers(corpus_index, tmp_path_factory) -> Iterator[str]:
    """`vendorban serve --workers 2 --port 0` on a copy of the indexed corpus: its base URL
    once every worker answers /readyz."""
    folder = tmp_path_factory.mktemp("workers")
    data_dir = folder / "data"
    shutil.copytree(corpus_index[0].data_dir, data_dir)
    values = {"VENDORBAN_DATA_DIR": str(data_dir), "VENDORBAN_CORPUS_DIR": str(CORPUS),
              "VENDORBAN_SLACK_SIGNING_SECRET": SLACK_SECRET,
              "VENDORBAN_EMBEDDING_BACKEND": "torch", "VENDORBAN_RATE_LIMIT_PER_MINUTE": "4",
              "HF_HUB_OFFLINE": "1"}
    command = [str(Path(sys.executable).parent / "vendorban"), "serve", "--port", "0",
               "--workers", str(WORKERS)]
    log = folder / "serve.log"
    process = subprocess.Popen(command, env=os.environ | values, stdout=subprocess.PIPE,
                               stderr=log.open("w"), text=True)
    try:
        base = ""
        for line in process.stdout:  # the URLs are printed once the port is bound
            found = re.search(r"Web page:\s+(http://\S+?)/?$", line.strip())
            if found:
                base = found.group(1)
                break
        assert base, "serve printed no URL"
        ready: set[int] = set()
        for _ in range(3000):  # bounded: two models load in well under five minutes
            assert process.poll() is None, log.read_text()
            with httpx.Client(timeout=10) as client:  # a new connection: either worker
                response = client.get(f"{base}/readyz")
            if response.status_code == 200:
                ready.add(response.json()["worker"])
                if len(ready) == WORKERS:
                    break
            else:
                time.sleep(0.1)  # a pause between probes while the models load
        assert len(ready) == WORKERS, f"ready workers: {ready}"
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def two_workers(base: str, source: str = "127.0.0.1") -> tuple[Worker, Worker]:
    """Connections to two different worker processes."""
    first = Worker(base, source)
    for _ in range(200):  # bounded: the kernel hands new connections to both
        other = Worker(base, source)
        if other.pid != first.pid:
            return first, other
        other.client.close()
    raise AssertionError("every connection reached the same worker")


def test_the_rate_limit_counts_requests_to_every_worker(workers):
    # a client address of its own: the limit (4 a minute) is per address
    a, b = two_workers(workers, source="127.0.0.2")
    statuses = []
    for n in range(8):  # alternately to each worker: 4 each, 8 in all
        worker = (a, b)[n % 2]
        response = worker.request("POST", "/api/feedback",
                                  json={"answer_id": uuid.uuid4().hex, "vote": "up"})
        statuses.append(response.status_code)
    # 404: allowed through to an unknown answer id; 429: over the limit
    assert statuses[:4] == [404] * 4 and statuses[4:] == [429] * 4, statuses


def test_a_replayed_slack_request_is_refused_by_the_other_worker(workers):
    a, b = two_workers(workers)
    body = json.dumps({"type": "url_verification", "challenge": uuid.uuid4().hex}).encode()
    headers = slack_headers(body) | {"Content-Type": "application/json"}
    first = a.request("POST", "/slack/events", content=body, headers=headers)
    assert first.status_code == 200 and first.json()["challenge"] in body.decode()
    replayed = b.request("POST", "/slack/events", content=body, headers=headers)
    assert replayed.status_code == 401


def test_a_conversation_continues_on_another_worker(workers):
    a, b = two_workers(workers, source="127.0.0.3")
    conversation = uuid.uuid4().hex
    first = a.request("POST", "/api/ask", json={
        "question": "What is the rip and replace programme in the US?",
        "conversation": conversation})
    assert first.status_code == 200
    followed = b.request("POST", "/api/ask", json={"question": "How much will it cost?",
                                                   "conversation": conversation})
    assert followed.status_code == 200
    assert "rip and replace" in followed.json()["standalone_question"]

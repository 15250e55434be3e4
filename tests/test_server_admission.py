"""Admission control over real HTTP: past the bound of queued answering, every front end says it is
busy at once instead of queueing. The queue is held full by response_url receivers that do not
answer until released (a job lasts until its reply is delivered), so no timing is involved."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import httpx
import pytest
from nacl.signing import SigningKey

from bot.chat.workload import BUSY, Workload
from tests.server_support import MATTERMOST_TOKEN, slack_headers

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures

WORKERS = 4  # the core's threads: that many jobs are always admitted


class GatedReceiver:
    """A response_url that records each post and holds its answer until `release()`."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.posts: list[dict] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._cond:
                    receiver.posts.append({"path": self.path, "json": json.loads(body)})
                    receiver._cond.notify_all()
                receiver.gate.wait(60)
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, count: int, timeout: float = 60.0) -> list[dict]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.posts) >= count, timeout), self.posts
            return list(self.posts)

    def release(self) -> None:
        if self.gate.is_set():
            return
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gated():
    receiver = GatedReceiver()
    yield receiver
    receiver.release()


def slack_command(live, url: str, text: str, user: str = "U1") -> httpx.Response:
    body = urlencode({"team_id": "T1", "user_id": user, "command": "/vendorban", "text": text,
                      "trigger_id": uuid.uuid4().hex, "response_url": url}).encode()
    return httpx.post(f"{live.url}/slack/commands", content=body, headers=slack_headers(body),
                      timeout=10)


def fill_the_queue(live, gated: GatedReceiver) -> None:
    """WORKERS answered questions whose deliveries hang: the queue is at its bound."""
    for i in range(WORKERS):
        assert "Searching" in slack_command(live, f"{gated.url}/fill/{i}",
                                            "What did Suga say?").json()["text"]
    gated.wait_for(WORKERS)
    assert len(live.app.state.workload.jobs) == WORKERS


def test_a_full_queue_gets_a_busy_reply_on_slack_at_once_and_nothing_later(serve, receiver,
                                                                           gated):
    live = serve(max_queue_seconds=0.01)
    fill_the_queue(live, gated)
    refused = slack_command(live, f"{receiver.url}/late", "What did Suga say?", user="U2")
    assert refused.status_code == 200
    assert refused.json() == {"response_type": "ephemeral", "text": BUSY}
    gated.release()
    live.wait_idle()
    assert receiver.posts == []  # the refused question was not queued behind the others


def test_a_full_queue_gets_a_busy_reply_on_mattermost(serve, receiver, gated):
    live = serve(max_queue_seconds=0.01)
    fill_the_queue(live, gated)
    body = urlencode({"team_id": "T1", "user_id": "U3", "command": "/vendorban",
                      "text": "What did Suga say?", "response_url": f"{receiver.url}/mm"}).encode()
    refused = httpx.post(f"{live.url}/mattermost/commands", content=body, timeout=10,
                         headers={"Authorization": f"Token {MATTERMOST_TOKEN}",
                                  "Content-Type": "application/x-www-form-urlencoded"})
    assert refused.json() == {"response_type": "ephemeral", "text": BUSY}


def test_a_full_queue_gets_a_503_with_retry_after_on_the_api(serve, gated):
    live = serve(max_queue_seconds=0.01)
    fill_the_queue(live, gated)
    refused = httpx.post(f"{live.url}/api/ask", json={"question": "What did Suga say?"},
                         timeout=10)
    assert refused.status_code == 503 and refused.json()["error"] == BUSY
    assert int(refused.headers["retry-after"]) >= 1


def test_a_full_queue_gets_an_ephemeral_busy_message_on_discord(serve, gated):
    key = SigningKey.generate()
    live = serve(max_queue_seconds=0.01, discord_public_key=key.verify_key.encode().hex())
    fill_the_queue(live, gated)
    body = json.dumps({"type": 2, "id": "77", "application_id": "5", "token": "tok-busy",
                       "data": {"name": "ask", "options": [{"name": "question", "type": 3,
                                                            "value": "What did Suga say?"}]},
                       "member": {"user": {"id": "9"}}}).encode()
    stamp = str(int(time.time()))
    refused = httpx.post(f"{live.url}/discord/interactions", content=body, timeout=10, headers={
        "X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex(),
        "X-Signature-Timestamp": stamp, "Content-Type": "application/json"})
    data = refused.json()
    assert data["type"] == 4 and data["data"]["flags"] == 64 and data["data"]["content"] == BUSY


@pytest.mark.slow  # a burst of 60 commands
def test_a_burst_never_queues_more_than_the_bound(serve, receiver, gated):
    live = serve(max_queue_seconds=0.01)
    fill_the_queue(live, gated)
    replies = [slack_command(live, f"{receiver.url}/burst/{i}", f"Who banned Huawei {i}?",
                             user=f"B{i}").json()["text"] for i in range(60)]
    assert replies == [BUSY] * 60
    workload = live.app.state.workload
    assert len(workload.jobs) == WORKERS and len(workload.tasks) == WORKERS


def test_the_bound_is_seconds_of_estimated_work():
    workload = Workload(max_wait=10.0, workers=2)
    workload.seconds_per_job = 1.0
    admitted = [workload.admit() for _ in range(25)]
    assert sum(job is not None for job in admitted) == 20  # 20 jobs x 1 s / 2 threads = 10 s
    workload.seconds_per_job = 0.5  # measured faster: room for more
    assert workload.admit() is not None
    assert workload.retry_after() == 6  # 21 jobs x 0.5 s / 2 threads, rounded up


def test_the_measured_pace_under_load_counts_more_than_core_time():
    now = [0.0]
    workload = Workload(max_wait=20.0, workers=4, clock=lambda: now[0])
    workload.seconds_per_job = 0.1  # the core alone: 40 answers a second on 4 threads
    jobs = [workload.admit() for _ in range(12)]
    for job in jobs[:11]:
        now[0] += 1.0  # yet one job ends a second (a busy event loop, slow deliveries)
        workload.finished(job)
    assert workload.seconds_per_answer() == pytest.approx(1.0)
    admitted = [workload.admit() for _ in range(30)]
    assert sum(job is not None for job in admitted) == 19  # 20 jobs x 1 s = the 20 s bound
    now[0] += 25.0
    workload.finished(admitted[0])  # it waited 25 s: longer than the bound
    assert workload.last_wait == pytest.approx(25.0) and workload.admit() is None

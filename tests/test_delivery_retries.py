"""Replies that may have arrived are never posted twice: a response_url or Discord follow-up
endpoint slower than the client's timeout gets one post, and the caller one answer."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from nacl.signing import SigningKey

from tests.test_server_slack import SUGA_WORDS, command_body, post_command

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures


class StalledEndpoint:
    """Records every request (any method) at once, answers 200 only once `release` is set."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.arrived = threading.Semaphore(0)
        self.release = threading.Event()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                endpoint.requests.append({"method": self.command, "path": self.path,
                                          "json": json.loads(body) if body else None})
                endpoint.arrived.release()
                endpoint.release.wait(60)  # the client may be gone: writing can fail
                reply = b"{}"
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_POST = do_PATCH = do_DELETE = _record

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow():
    endpoint = StalledEndpoint()
    yield endpoint
    endpoint.close()


def test_a_response_url_slower_than_the_timeout_gets_the_answer_once(serve, receiver):
    receiver.stall = threading.Event()
    live = serve()
    live.services.delivery.timeout = 0.5  # the receiver answers long after the client gave up
    post_command(live, command_body(receiver, "What did Suga say?"))
    receiver.wait_attempts(1)
    live.wait_idle()  # the delivery timed out and ended while the receiver still held the post
    receiver.stall.set()
    [post] = receiver.wait_for(1)
    assert receiver.attempts == 1 and SUGA_WORDS in post["json"]["text"]


def test_a_slow_discord_follow_up_endpoint_gets_one_delivery_per_interaction(serve, slow,
                                                                          monkeypatch):
    monkeypatch.setattr("bot.discord_bot.http.TIMEOUT_SECONDS", 0.5)
    key = SigningKey.generate()
    live = serve(discord_public_key=key.verify_key.encode().hex(),
                 discord_api_url=f"{slow.url}/api/v10")
    body = json.dumps({"type": 2, "id": "4001", "application_id": "5", "token": "tok-slow",
                       "data": {"name": "ask", "options": [{"name": "question", "type": 3,
                                                            "value": "What did Suga say?"}]},
                       "member": {"user": {"id": "9"}}}).encode()
    stamp = str(int(time.time()))
    response = httpx.post(f"{live.url}/discord/interactions", content=body, timeout=10, headers={
        "X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex(),
        "X-Signature-Timestamp": stamp, "Content-Type": "application/json"})
    assert response.json() == {"type": 5, "data": {}}
    assert slow.arrived.acquire(timeout=60)
    live.wait_idle()  # the follow-up timed out and ended while the endpoint still held it
    slow.release.set()
    [edit] = slow.requests
    assert edit["method"] == "PATCH" and SUGA_WORDS in edit["json"]["embeds"][0]["description"]

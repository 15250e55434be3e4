"""Shared by the server tests: the real app under uvicorn on 127.0.0.1, and a local HTTP receiver
standing in for Slack's response_url / Web API and Mattermost's response_url."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SLACK_SECRET = "test-slack-signing-secret-8f3a"
SLACK_BOT_TOKEN = "xoxb-test-bot-token-77"
MATTERMOST_TOKEN = "mm-test-command-token-42"
API_TOKEN = "api-test-bearer-token-99"


class Clock:
    """Wall clock with an adjustable offset, to age a request past Slack's replay window."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class Receiver:
    """A local HTTP server that records JSON POSTs; it can fail or stall the first requests."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.attempts = 0
        self.fail_first = 0
        self.stall: threading.Event | None = None  # when set here, replies wait for it to be set
        self._cond = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver._cond:
                    receiver.attempts += 1
                    failing = receiver.fail_first > 0
                    receiver.fail_first -= failing
                    receiver._cond.notify_all()
                if receiver.stall is not None:
                    receiver.stall.wait(60)  # bounded, so a forgotten release cannot hang a run
                if failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                with receiver._cond:
                    receiver.posts.append({"path": self.path, "headers": dict(self.headers),
                                           "json": json.loads(body)})
                    receiver._cond.notify_all()
                reply = b'{"ok": true}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict]:
        """The recorded posts once there are `count` of them (fails after `timeout`)."""
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.posts) >= count, timeout), self.posts
            return list(self.posts)

    def wait_attempts(self, count: int, timeout: float = 20.0) -> None:
        """Return once `count` requests have arrived, answered or not (fails after `timeout`)."""
        with self._cond:
            assert self._cond.wait_for(lambda: self.attempts >= count, timeout), self.attempts

    def close(self) -> None:
        if self.stall is not None:
            self.stall.set()
        self.server.shutdown()
        self.server.server_close()


class LiveServer:
    """The real app served by uvicorn in a background thread on a free port."""

    def __init__(self, app, wait_ready: bool = True) -> None:  # noqa: ANN001
        import uvicorn

        self.app = app
        self.services = app.state.services
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]},
                                       daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            assert self.thread.is_alive(), "server thread died"
            time.sleep(0.02)
        if wait_ready:
            assert self.services.warmed.wait(60), "model and indexes did not load"

    def wait_idle(self, timeout: float = 20.0) -> None:
        """Wait until no answering or delivery task is running (fails after `timeout`)."""
        deadline = time.monotonic() + timeout
        while self.services.delivery.tasks or self.app.state.workload.tasks:
            assert time.monotonic() < deadline, "deliveries still running"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)


def slack_headers(body: bytes, secret: str = SLACK_SECRET, timestamp: int | None = None) -> dict:
    """Headers Slack would send: v0 HMAC-SHA256 over `v0:{timestamp}:{body}`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}

"""A local OpenAI-compatible (and Ollama) chat server: scripted replies, recorded requests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Reply = str | Callable[[dict], str]


@dataclass
class Scripted:
    """One scripted response: a reply (text or function of the request), status, stall."""

    reply: Reply = ""
    status: int = 200
    stall: bool = False  # hold the reply until released: a model slower than any timeout
    body: str = ""  # raw body for error statuses


@dataclass
class StubLLM:
    """The server's script and what it received; `base_url` is what a client is pointed at."""

    base_url: str = ""
    script: list[Scripted] = field(default_factory=list)
    requests: list[dict] = field(default_factory=list)
    headers: list[dict] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)

    def enqueue(self, reply: Reply = "", status: int = 200, stall: bool = False,
                body: str = "") -> None:
        """Queue the response to the next request."""
        self.script.append(Scripted(reply, status, stall, body))

    def prompt(self, index: int = -1) -> str:
        """All message contents of a recorded request, joined."""
        return "\n".join(str(m["content"]) for m in self.requests[index]["messages"])


def completion(text: str, model: str) -> dict:
    """An OpenAI chat.completion body carrying `text`."""
    return {
        "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def ollama_stream(text: str, model: str) -> str:
    """An Ollama /api/chat streamed body: the text, then the final `done` line."""
    def line(content: str, done: bool) -> str:
        return json.dumps({"model": model, "created_at": "2026-01-01T00:00:00Z", "done": done,
                           "message": {"role": "assistant", "content": content},
                           **({"done_reason": "stop"} if done else {})})
    return line(text, False) + "\n" + line("", True) + "\n"


def make_handler(stub: StubLLM) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to one stub."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            stub.requests.append(body)
            stub.headers.append({k.lower(): v for k, v in self.headers.items()})
            path = self.path.rstrip("/")
            if path not in ("/v1/chat/completions", "/api/chat"):
                return self._send(404, json.dumps({"error": {"message": "not found"}}))
            step = stub.script.pop(0) if stub.script else Scripted(status=500, body="no script")
            if step.stall:  # the client's own timeout must end the call; bounded for safety
                stub.released.wait(60)
            if step.status != 200:
                error = json.dumps({"error": {"message": "boom"}})
                return self._send(step.status, step.body or error)
            text = step.reply(body) if callable(step.reply) else step.reply
            if path == "/api/chat":  # Ollama's native API streams NDJSON
                return self._send(200, ollama_stream(text, body.get("model", "")))
            self._send(200, json.dumps(completion(text, body.get("model", ""))))

        def _send(self, status: int, payload: str) -> None:
            data = payload.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                pass

        def log_message(self, *args: object) -> None:
            pass

    return Handler


def start_stub() -> tuple[StubLLM, ThreadingHTTPServer]:
    """Start a stub on a free 127.0.0.1 port in a daemon thread (OpenAI at /v1, Ollama at /api)."""
    stub = StubLLM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(stub))
    server.daemon_threads = True
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return stub, server

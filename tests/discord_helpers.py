"""Test helpers for the Discord adapters: a recording fake Interaction and a limits checker."""

from __future__ import annotations

import json
import queue
import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

LIMITS = {"content": 2000, "title": 256, "description": 4096, "fields": 25, "field_name": 256,
          "field_value": 1024, "footer": 2048, "author": 256, "total": 6000, "embeds": 10}


def u16(text: str) -> int:
    """Length in UTF-16 code units, the strictest count Discord may apply."""
    return len(text.encode("utf-16-le")) // 2


def limit_violations(payload: dict) -> list[str]:
    """Every Discord limit the payload breaks (empty when it fits)."""
    bad = []
    if u16(payload.get("content") or "") > LIMITS["content"]:
        bad.append("content")
    embeds = payload.get("embeds") or []
    if len(embeds) > LIMITS["embeds"]:
        bad.append("embed count")
    total = 0
    for e in embeds:
        parts = {"title": e.get("title") or "", "description": e.get("description") or "",
                 "footer": (e.get("footer") or {}).get("text") or "",
                 "author": (e.get("author") or {}).get("name") or ""}
        bad += [k for k, v in parts.items() if u16(v) > LIMITS[k]]
        bad += [f"empty {k}" for k in ("title", "description") if k in e and not e[k].strip()]
        total += sum(u16(v) for v in parts.values())
        fields = e.get("fields") or []
        if len(fields) > LIMITS["fields"]:
            bad.append("field count")
        for f in fields:
            if not f["name"].strip() or not f["value"].strip():
                bad.append("empty field")
            if u16(f["name"]) > LIMITS["field_name"] or u16(f["value"]) > LIMITS["field_value"]:
                bad.append("field size")
            total += u16(f["name"]) + u16(f["value"])
    if total > LIMITS["total"]:
        bad.append(f"total {total}")
    if payload.get("allowed_mentions") != {"parse": []}:
        bad.append("allowed_mentions")
    return bad


class FakeInteraction:
    """Stands in for discord.Interaction: records defer, send_message, followup.send, delete."""

    def __init__(self, user_id: int = 1) -> None:
        self.user = SimpleNamespace(id=user_id)
        self.calls: list[tuple[str, dict]] = []
        self._done = False
        self.response = SimpleNamespace(defer=self._defer, send_message=self._send_message,
                                        is_done=lambda: self._done)
        self.followup = SimpleNamespace(send=self._followup)

    async def _defer(self, *, ephemeral: bool = False, thinking: bool = False) -> None:
        assert not self._done, "interaction answered twice"
        self._done = True
        self.calls.append(("defer", {"ephemeral": ephemeral, "thinking": thinking}))

    async def _send_message(self, content: str | None = None, **kwargs) -> None:
        assert not self._done, "interaction answered twice"
        self._done = True
        self.calls.append(("send_message", {"content": content, **kwargs}))

    async def _followup(self, content: str | None = None, **kwargs) -> None:
        assert self._done, "follow-up before the interaction was answered"
        self.calls.append(("followup", {"content": content, **kwargs}))

    async def delete_original_response(self) -> None:
        self.calls.append(("delete_original", {}))

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]

    def payload(self) -> dict:
        """The follow-up as a render payload (embeds back to dicts) for the limits checker."""
        sent = next(kw for kind, kw in self.calls if kind == "followup")
        return {"content": sent.get("content") or "",
                "embeds": [e.to_dict() for e in sent.get("embeds", [])],
                "allowed_mentions": {"parse": []} if _mentions_none(sent) else "permissive"}


def _mentions_none(sent: dict) -> bool:
    mentions = sent.get("allowed_mentions")
    return mentions is not None and mentions.to_dict() == {"parse": []}


def _json_or_text(body: bytes) -> object:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode("utf-8", "replace")


BOT_USER = {"id": "700", "username": "vendorban", "discriminator": "0", "avatar": None}


def _canned_reply(method: str, path: str, body: object) -> object:
    """Just enough of Discord's replies for discord.py to parse them."""
    if path.endswith("/users/@me"):
        return {**BOT_USER, "bot": True}
    if path.endswith("/oauth2/applications/@me"):
        return {"id": "223456789012345678", "name": "vendorban", "description": "", "icon": None,
                "bot_public": False, "bot_require_code_grant": False, "owner": BOT_USER,
                "verify_key": "00" * 32, "flags": 0}
    app = re.search(r"/applications/(\d+)/", path)
    if method == "PUT" and app and isinstance(body, list):  # command sync echoes the commands
        return [{**cmd, "id": str(900 + i), "application_id": app.group(1), "version": "1"}
                for i, cmd in enumerate(body)]
    callback = re.search(r"/interactions/(\d+)/[^/]+/callback", path)
    if callback:
        return {"interaction": {"id": callback.group(1), "type": 2,
                                "response_message_loading": True}}
    if method == "POST" and "/webhooks/" in path:
        return {"id": "900", "channel_id": "800", "type": 0, "content": "", "embeds": [],
                "attachments": [], "timestamp": "2024-01-01T00:00:00+00:00",
                "edited_timestamp": None, "mentions": [], "mention_roles": [], "pinned": False,
                "mention_everyone": False, "tts": False, "flags": 0,
                "author": BOT_USER}
    return {}


class FakeDiscordAPI(ThreadingHTTPServer):
    """Stands in for Discord's webhook API: records every request, can fail the next ones."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receiver)
        self.received: queue.Queue = queue.Queue()
        self.fail_next = 0
        self.fail_status = 500
        self._others: list[dict] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/api/v10"

    def requests_for(self, token: str, count: int, timeout: float = 60) -> list[dict]:
        """The first `count` requests whose path holds `token` (waiting at most `timeout`)."""
        found, deadline = [], time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            try:
                item = self.received.get(timeout=0.1)
            except queue.Empty:
                continue
            (found if token in item["path"] else self._others).append(item)
        for item in self._others:  # leave other tests' requests in the queue
            self.received.put(item)
        self._others = []
        return found


class _Receiver(BaseHTTPRequestHandler):
    def _record(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        status = 200
        if self.server.fail_next > 0:
            self.server.fail_next -= 1
            status = self.server.fail_status
        self.server.received.put({"method": self.command, "path": self.path, "status": status,
                                  "json": _json_or_text(body),
                                  "headers": {k.lower(): v for k, v in self.headers.items()}})
        canned = ({"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
                  if status == 429 else _canned_reply(self.command, self.path, _json_or_text(body)))
        reply = json.dumps(canned).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _record

    def log_message(self, *args) -> None:
        pass

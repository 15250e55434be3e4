"""A local Slack for Socket Mode tests: the Web API (auth.test, apps.connections.open,
chat.postMessage, response_url) over HTTP and the Socket Mode WebSocket, on 127.0.0.1.

aiohttp serves both in a thread of its own; tests push envelopes into the socket and wait on a
condition for what the bot sends back (acks over the socket, posts over HTTP), in arrival order.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Callable

from aiohttp import WSMsgType, web

BOT_USER = "UBOT"  # what auth.test reports: the bot's own user id
_ids = itertools.count(1)


class FakeSlack:
    """`seen` lists ("ack", envelope ack) and ("post", {path, headers, json}) as they arrive."""

    def __init__(self, bot_token: str, app_token: str) -> None:
        self.bot_token, self.app_token = bot_token, app_token
        self.seen: list[tuple[str, dict]] = []
        self.connections = 0
        self._cond = threading.Condition()
        self._socket: web.WebSocketResponse | None = None
        self._loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self._thread.start()
        assert started.wait(10), "the fake Slack did not start"

    # ---- the server, in its own thread and loop
    def _run(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{rest:.*}", self._response_url)
        app.router.add_get("/link/", self._link)
        self._runner = web.AppRunner(app, access_log=None)  # the bot's log is under test
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        started.set()
        self._loop.run_forever()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if method == "apps.connections.open":
            if token != self.app_token:
                return web.json_response({"ok": False, "error": "invalid_auth"})
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/"
                                                         f"?ticket=t{next(_ids)}"})
        if token != self.bot_token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return web.json_response({"ok": True, "url": "https://test.slack.com/",
                                      "team": "Test team", "user": "vendorban", "team_id": "T1",
                                      "user_id": BOT_USER, "bot_id": "BBOT"})
        body = await request.json() if request.content_type == "application/json" else {}
        self._record("post", {"path": f"/api/{method}", "headers": dict(request.headers),
                              "json": body})
        return web.json_response({"ok": True, "channel": body.get("channel"),
                                  "ts": f"1800000000.{next(_ids):06d}"})

    async def _response_url(self, request: web.Request) -> web.Response:
        self._record("post", {"path": request.path, "headers": dict(request.headers),
                              "json": await request.json()})
        return web.Response(text="ok")

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_json({"type": "hello", "num_connections": 1,
                                "connection_info": {"app_id": "A1"}})
        with self._cond:
            self._socket = socket
            self.connections += 1
            self._cond.notify_all()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                self._record("ack", json.loads(message.data))
        return socket

    def _record(self, kind: str, item: dict) -> None:
        with self._cond:
            self.seen.append((kind, item))
            self._cond.notify_all()

    # ---- the test's side
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def wait(self, ready: Callable[[], bool], timeout: float = 30.0) -> None:
        """Block until `ready()` holds (checked whenever something arrives)."""
        with self._cond:
            assert self._cond.wait_for(ready, timeout), self.seen

    def wait_connected(self, count: int = 1) -> None:
        self.wait(lambda: self.connections >= count)

    def send(self, kind: str, payload: dict, retry: int = 0) -> str:
        """Push an envelope (`slash_commands`, `events_api`, `interactive`); its envelope id."""
        envelope_id = f"env-{next(_ids)}"
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                    "accepts_response_payload": kind == "slash_commands"}
        if kind == "events_api":
            envelope |= {"retry_attempt": retry, "retry_reason": "timeout" if retry else ""}
        assert self._socket is not None, "no Socket Mode connection"
        asyncio.run_coroutine_threadsafe(self._socket.send_json(envelope), self._loop).result(10)
        return envelope_id

    def ack(self, envelope_id: str) -> dict:
        """The bot's ack of an envelope, once it has come."""
        self.wait(lambda: any(k == "ack" and i.get("envelope_id") == envelope_id
                              for k, i in self.seen))
        return next(i for k, i in self.seen if k == "ack" and i.get("envelope_id") == envelope_id)

    def posts(self, path_start: str = "") -> list[dict]:
        with self._cond:
            return [i for k, i in self.seen if k == "post" and i["path"].startswith(path_start)]

    def wait_posts(self, path_start: str, count: int = 1) -> list[dict]:
        self.wait(lambda: len(self.posts(path_start)) >= count)
        return self.posts(path_start)

    def order(self, envelope_id: str, path_start: str) -> tuple[int, int]:
        """Positions of an envelope's ack and of the first post to `path_start` in `seen`."""
        with self._cond:
            ack = next(n for n, (k, i) in enumerate(self.seen)
                       if k == "ack" and i.get("envelope_id") == envelope_id)
            post = next(n for n, (k, i) in enumerate(self.seen)
                        if k == "post" and i["path"].startswith(path_start))
            return ack, post

    def close(self) -> None:
        async def stop() -> None:
            if self._socket is not None:
                await self._socket.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

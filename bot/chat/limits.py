"""Input bounds for the HTTP server: a request body cap and a per-user sliding-window rate limit."""

from __future__ import annotations

import heapq
import json
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Clock = Callable[[], float]
WINDOW_SECONDS = 60.0
MAX_TRACKED_KEYS = 10_000  # oldest keys are forgotten first, so memory stays bounded
MAX_SEEN_KEYS = 200_000  # live signatures held at most (~40 MB); past it requests are refused


class BodyTooLarge(HTTPException):
    """The request body went past the cap while it was being read."""

    def __init__(self, max_bytes: int) -> None:
        # an HTTPException, so FastAPI's body parsing re-raises it instead of calling it a 400
        super().__init__(413, f"Request body too large (limit {max_bytes} bytes).")


class BodyLimit:
    """ASGI middleware: 413 when a body exceeds `max_bytes`, counted as it arrives."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _reject(send, self.max_bytes)
            return
        started = False
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # a lying or absent Content-Length ends here
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(send, self.max_bytes)


async def _reject(send: Send, max_bytes: int) -> None:
    body = json.dumps({"error": f"Request body too large (limit {max_bytes} bytes)."}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """At most `per_minute` hits per key in any 60-second window (in memory, per process)."""

    def __init__(self, per_minute: int, clock: Clock = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def waiting(self, key: str) -> float:
        """Seconds before `key` may hit again (0: now), without recording a hit."""
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key) or deque()
            live = [t for t in hits if now - t < WINDOW_SECONDS]
            if len(live) >= self.per_minute:
                return max(0.001, WINDOW_SECONDS - (now - live[0]))
            return 0.0

    def hit(self, key: str) -> float:
        """Record a hit; 0 when allowed, else the seconds to wait before the next one is."""
        now = self.clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and now - hits[0] >= WINDOW_SECONDS:
                hits.popleft()
            self._hits[key] = hits
            if len(self._hits) > MAX_TRACKED_KEYS:
                self._hits.popitem(last=False)
            if len(hits) >= self.per_minute:
                return max(0.001, WINDOW_SECONDS - (now - hits[0]))
            hits.append(now)
            return 0.0


class SeenSetFull(Exception):
    """Every remembered key is still live: a new one cannot be taken without forgetting one."""


class SeenSet:
    """Keys remembered until their own expiry, never forgotten earlier (a forgotten signature
    could be replayed): retried events, replayed signatures and interactions. When `max_items`
    live keys are held, new keys are refused (SeenSetFull) rather than old ones dropped."""

    def __init__(self, ttl: float, max_items: int = MAX_SEEN_KEYS,
                 clock: Clock = time.monotonic) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self.clock = clock
        self._expiry: dict[str, float] = {}
        self._queue: list[tuple[float, str]] = []  # a heap of (expiry, key)
        self._lock = threading.Lock()

    def first(self, key: str, expires_at: float | None = None) -> bool:
        """True the first time a key is offered before it expires (at `expires_at`, by default
        `ttl` from now), False for repeats; SeenSetFull when the set is full of live keys."""
        now = self.clock()
        with self._lock:
            while self._queue and self._queue[0][0] < now:
                expiry, old = heapq.heappop(self._queue)
                if self._expiry.get(old) == expiry:
                    del self._expiry[old]
            if key in self._expiry:
                return False
            if len(self._expiry) >= self.max_items:
                raise SeenSetFull
            expiry = now + self.ttl if expires_at is None else max(now, expires_at)
            self._expiry[key] = expiry
            heapq.heappush(self._queue, (expiry, key))
            return True

    def __len__(self) -> int:
        return len(self._expiry)

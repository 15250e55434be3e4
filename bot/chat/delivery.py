"""Delayed replies: POSTs to a response_url or Slack's Web API, after the request.

A post is retried only when it certainly did not arrive (the connection was never made) or when
the receiver said it failed (5xx, 429): a post that timed out while waiting for the answer may have
been delivered, and posting it again would show the user the same answer twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any
from urllib.parse import urlsplit

import httpx

log = logging.getLogger(__name__)
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)  # safe to send again
CONNECT_SECONDS = 5.0
MAX_POSTS_AT_ONCE = 16  # a burst (say, every "ask again" at shutdown) must not flood a receiver


def where(url: str) -> str:
    """A URL reduced to scheme and host for logs (response_url paths are bearer capabilities)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Delivery:
    """Posts JSON with bounded retries and runs delivery jobs as tracked background tasks."""

    def __init__(self, attempts: int = 3, backoff: float = 0.5, timeout: float = 30.0) -> None:
        self.attempts = attempts
        self.backoff = backoff
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(MAX_POSTS_AT_ONCE)
        self.tasks: set[asyncio.Task] = set()

    @property
    def client(self) -> httpx.AsyncClient:
        """One pooled client, made inside the server's event loop on first use."""
        if self._client is None:
            timeout = httpx.Timeout(self.timeout, connect=min(CONNECT_SECONDS, self.timeout))
            self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        return self._client

    def spawn(self, job: Coroutine[Any, Any, Any], name: str = "delivery") -> asyncio.Task:
        """Run a job after the response; failures are logged, never raised into a request."""
        task = asyncio.get_running_loop().create_task(job, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    async def post(self, url: str, payload: dict, token: str = "") -> bool:
        """POST `payload` as JSON; True once accepted, False after the last failed attempt."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        for attempt in range(1, self.attempts + 1):
            delay = self.backoff * 2 ** (attempt - 1)
            try:
                async with self._slots:
                    response = await self.client.post(url, json=payload, headers=headers)
                problem, retry = _problem(response)
                if not problem:
                    return True
                delay = max(delay, min(_retry_after(response), 10.0))
            except NOT_SENT as exc:
                problem, retry = type(exc).__name__, True
            except httpx.HTTPError as exc:  # sent, maybe received: never post it twice
                log.warning("delivery to %s may not have arrived (%s); not sent again",
                            where(url), type(exc).__name__)
                return False
            log.warning("delivery to %s failed (attempt %d of %d): %s",
                        where(url), attempt, self.attempts, problem)
            if not retry or attempt == self.attempts:
                break
            await asyncio.sleep(delay)
        log.error("gave up delivering a reply to %s", where(url))
        return False

    async def aclose(self, grace: float = 5.0) -> None:
        """Let running deliveries finish for `grace` seconds, cancel the rest, close the client."""
        pending = set(self.tasks)
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def _problem(response: httpx.Response) -> tuple[str, bool]:
    """('', _) when accepted, else (what went wrong, whether a retry may help)."""
    if response.status_code >= 300:
        code = response.status_code
        return f"HTTP {code}", code in (408, 425, 429) or code >= 500
    try:
        body = response.json()
    except ValueError:
        return "", False  # response_url answers plain "ok"
    if isinstance(body, dict) and body.get("ok") is False:  # Slack Web API: 200 with ok=false
        error = str(body.get("error", "unknown error"))
        return f"Slack error {error}", error in ("ratelimited", "service_unavailable")
    return "", False


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else 0.0

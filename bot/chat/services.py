"""What every chat front end shares: settings, assistant, limits, delivery and the core's threads.

One `Services` per process: the HTTP server, the Discord gateway client and the Discord HTTP
interactions router are all built from it, so the core's thread bound, the admission estimate and
the per-user rate limit hold whatever front ends are on.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.chat.delivery import Delivery
from bot.chat.dispatch import CHANNEL_ACTIONS, ChatRequest, Reply, channel_alerts, execute
from bot.chat.limits import RateLimiter, SeenSet
from bot.chat.shared_limits import SharedRateLimiter, SharedSeenSet, database
from bot.chat.workload import RESTARTING, Job, Restarting, Workload
from bot.core.assistant import Assistant
from bot.core.config import Settings
from bot.core.conversation_store import Conversations
from bot.core.usage import UsageLog

T = TypeVar("T")
CORE_THREADS = 4  # embedding is CPU-bound: a few threads keep the loop free without thrashing
SIDE_THREADS = 2  # votes, autocomplete, stats: short calls that must not queue behind answers


@dataclass
class Services:
    """One per process; the adapters reach the core through `workload` jobs (questions) or
    `run_side` (short look-ups and bookkeeping), never through threads of their own."""

    settings: Settings
    assistant: Assistant
    clock: Callable[[], float] = time.time  # wall clock, for signature windows
    # rate limits and replay memory in the data directory (limits.sqlite3), shared by every
    # process serving it (`serve --workers N`); False: in this process's memory
    shared: bool = False
    limiter: RateLimiter | SharedRateLimiter = field(init=False)  # per user, every chat front end
    usage: UsageLog = field(init=False)  # answer ids, votes, the usage report
    conversations: Conversations = field(init=False)  # follow-up questions
    workload: Workload = field(init=False)  # admission to the core's pool, drained on shutdown
    delivery: Delivery = field(default_factory=Delivery)
    model_ready: threading.Event = field(default_factory=threading.Event)
    warmed: threading.Event = field(default_factory=threading.Event)  # warm-up over, ok or not
    startup_problem: str = ""  # why the warm-up failed, shown by /readyz
    held: list[Any] = field(default_factory=list)  # open lock files, kept for the process
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(CORE_THREADS,
                                                   thread_name_prefix="vendorban-core"))
    side: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(SIDE_THREADS,
                                                   thread_name_prefix="vendorban-side"))

    def __post_init__(self) -> None:
        self.limiter = self.rate_limiter(self.settings.rate_limit_per_minute, "chat")
        self.usage = UsageLog(self.settings)
        self.conversations = Conversations(self.settings, self.clock)
        self.workload = Workload(self.settings.max_queue_seconds, CORE_THREADS, self.executor)

    def rate_limiter(self, per_minute: int, scope: str) -> RateLimiter | SharedRateLimiter:
        """A per-key limit of hits per minute; `scope` keeps shared limits apart."""
        if self.shared:
            return SharedRateLimiter(database(self.settings), per_minute, scope)
        return RateLimiter(per_minute)

    def seen_set(self, name: str, ttl: float,
                 clock: Callable[[], float] = time.time) -> SeenSet | SharedSeenSet:
        """Replay memory (signatures, event and interaction ids) named `name`; wall-clock."""
        if self.shared:
            return SharedSeenSet(database(self.settings), name, ttl, clock=clock)
        return SeenSet(ttl, clock=clock)

    async def run_side(self, func: Callable[..., T], *args: Any) -> T:
        """Run a short blocking call (a vote, an autocomplete, stats) in the side pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.side, functools.partial(func, *args))

    async def answer(self, job: Job, request: ChatRequest) -> Reply:
        """The reply to a dispatcher request: a question on the core's pool (within `job`),
        a channel's alert subscriptions on the side pool; "ask again" when shutdown drops it."""
        if request.action in CHANNEL_ACTIONS:
            return await self.run_side(channel_alerts, self.settings, request)
        try:
            return await job.run(execute, self.assistant, request, self.usage, self.conversations)
        except Restarting:
            return Reply("error", message=RESTARTING)

    async def aclose(self) -> None:
        """Drain queued answers (or send their "ask again"), then close delivery and pools."""
        await self.workload.drain(self.settings.shutdown_grace_seconds)
        await self.delivery.aclose()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.side.shutdown(wait=False, cancel_futures=True)

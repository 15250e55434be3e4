"""What the HTTP adapters share: settings, assistant, limits, delivery and the core's threads."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bot.core.assistant import Assistant
from bot.core.config import Settings
from bot.core.conversation_store import Conversations
from bot.core.usage import UsageLog
from bot.server.delivery import Delivery
from bot.server.limits import RateLimiter, SeenSet
from bot.server.shared_limits import SharedRateLimiter, SharedSeenSet, database

T = TypeVar("T")
CORE_THREADS = 4  # embedding is CPU-bound: a few threads keep the loop free without thrashing


@dataclass
class Services:
    """One per app; the adapters reach the core only through `run_core`."""

    settings: Settings
    assistant: Assistant
    clock: Callable[[], float] = time.time  # wall clock, for Slack's signature window
    # rate limits and replay memory in the data directory (limits.sqlite3), shared by every
    # process serving it (`serve --workers N`); False: in this process's memory
    shared: bool = False
    limiter: RateLimiter | SharedRateLimiter = field(init=False)
    usage: UsageLog = field(init=False)  # answer ids, votes, the usage report
    conversations: Conversations = field(init=False)  # follow-up questions
    delivery: Delivery = field(default_factory=Delivery)
    model_ready: threading.Event = field(default_factory=threading.Event)
    warmed: threading.Event = field(default_factory=threading.Event)  # warm-up over, ok or not
    startup_problem: str = ""  # why the warm-up failed, shown by /readyz
    held: list[Any] = field(default_factory=list)  # open lock files, kept for the process
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(CORE_THREADS,
                                                   thread_name_prefix="vendorban-core"))

    def __post_init__(self) -> None:
        self.limiter = self.rate_limiter(self.settings.rate_limit_per_minute, "chat")
        self.usage = UsageLog(self.settings)
        self.conversations = Conversations(self.settings, self.clock)

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

    async def run_core(self, func: Callable[..., T], *args: Any) -> T:
        """Run a blocking core call in the core's thread pool, so the event loop stays free."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args))

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
from bot.server.limits import RateLimiter

T = TypeVar("T")
CORE_THREADS = 4  # embedding is CPU-bound: a few threads keep the loop free without thrashing


@dataclass
class Services:
    """One per app; the adapters reach the core only through `run_core`."""

    settings: Settings
    assistant: Assistant
    clock: Callable[[], float] = time.time  # wall clock, for Slack's signature window
    limiter: RateLimiter = field(init=False)
    usage: UsageLog = field(init=False)  # answer ids, votes, the usage report
    conversations: Conversations = field(init=False)  # follow-up questions
    delivery: Delivery = field(default_factory=Delivery)
    model_ready: threading.Event = field(default_factory=threading.Event)
    warmed: threading.Event = field(default_factory=threading.Event)  # warm-up over, ok or not
    startup_problem: str = ""  # why the warm-up failed, shown by /readyz
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(CORE_THREADS,
                                                   thread_name_prefix="vendorban-core"))

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.rate_limit_per_minute)
        self.usage = UsageLog(self.settings)
        self.conversations = Conversations(self.settings, self.clock)

    async def run_core(self, func: Callable[..., T], *args: Any) -> T:
        """Run a blocking core call in the core's thread pool, so the event loop stays free."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(func, *args))

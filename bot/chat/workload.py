"""The answering a server owes: admitted only within a bound of estimated work, drained on shutdown.

Every front end (Slack, Mattermost, Discord, the JSON API) asks `Workload.admit` before it queues
a core call. The estimate is the number of admitted jobs times the measured time of one, divided by
the core's threads; past `max_wait` seconds a request gets a busy reply at once instead of a place
in a queue it would leave minutes later, so memory stays bounded under any burst. On shutdown,
`drain` answers what it can within a grace period and makes every other job send its "ask again"
reply.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
FIRST_GUESS_SECONDS = 1.0  # one answer's cost until one has been measured
SMOOTHING = 0.2  # weight of the newest measurement in the running average
RECENT = 300  # finished jobs the pace is averaged over: a shorter, noisier pace admits at its low
# points, and the jobs admitted there wait longer than estimated (measured: worst lag 40 s at 50)
MIN_MEASURED = 10  # fewer finished jobs than this: trust the core time alone
MAX_JOBS = 2000  # whatever the estimate says: memory stays bounded
FAREWELL_SECONDS = 15.0  # after the grace period, time left for the "ask again" replies
BUSY = "The bot is busy right now; please ask again in a minute."
RESTARTING = "The bot is restarting and could not answer this; please ask again in a minute."


class Restarting(Exception):
    """The server is shutting down: this job will not be answered, its caller is told so."""


class Job:
    """One admitted request: its core call, then its delivery (answer or "ask again")."""

    def __init__(self, workload: Workload) -> None:
        self.workload = workload
        self.admitted_at = workload.clock()
        self.abandoned = False
        self._future: asyncio.Future | None = None

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Run a blocking core call on the core's threads; Restarting when shutdown drops it."""
        if self.abandoned:
            raise Restarting
        loop = asyncio.get_running_loop()
        call = functools.partial(self.workload.timed, func, *args)
        self._future = loop.run_in_executor(self.workload.executor, call)
        try:
            return await self._future
        except asyncio.CancelledError:
            if self.abandoned:  # cancelled by `abandon`, not by the caller going away
                raise Restarting from None
            raise

    def abandon(self) -> None:
        """Give up the core call if it has not finished (a call not yet started never runs)."""
        self.abandoned = True
        if self._future is not None and not self._future.done():
            self._future.cancel()

    @property
    def computing(self) -> bool:
        """Not yet past its core call (abandoning it now saves work and sends "ask again")."""
        return self._future is None or not self._future.done()

    async def __aenter__(self) -> Job:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.workload.finished(self)


class Workload:
    """Admission control over the core's threads, and the shutdown that leaves no one silent."""

    def __init__(self, max_wait: float, workers: int, executor: Executor | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_wait = max_wait
        self.workers = max(1, workers)
        self.executor = executor
        self.clock = clock
        self.seconds_per_job = FIRST_GUESS_SECONDS
        self._busy = 0.0  # seconds with at least one job admitted, in total
        self._last = clock()
        self._finished_at: deque[float] = deque(maxlen=RECENT)  # `_busy` as each job ended
        self.last_wait = 0.0  # admission to end of the job that ended last
        self.draining = False
        self.jobs: set[Job] = set()
        self.tasks: set[asyncio.Task] = set()
        self._lock = threading.Lock()
        self._idle: asyncio.Event | None = None
        self._drained: asyncio.Task | None = None

    def queued_seconds(self, extra: int = 0) -> float:
        """Estimated seconds until the last admitted job (plus `extra` more) is answered."""
        return (len(self.jobs) + extra) * self.seconds_per_answer()

    def seconds_per_answer(self) -> float:
        """How often a job ends while the server is busy: the real pace under load (model, event
        loop and deliveries together), never less than the core time per job over the threads."""
        core = self.seconds_per_job / self.workers
        if len(self._finished_at) < MIN_MEASURED:
            return core
        self._tick()
        return max(core, (self._busy - self._finished_at[0]) / (len(self._finished_at) - 1))

    def _tick(self) -> None:
        now = self.clock()
        if self.jobs:
            self._busy += now - self._last
        self._last = now

    def retry_after(self) -> int:
        """Whole seconds a refused caller should wait before asking again."""
        return max(1, math.ceil(self.queued_seconds()))

    def admit(self) -> Job | None:
        """A job when the server can answer it within `max_wait`; None: busy or shutting down."""
        if self.draining or len(self.jobs) >= MAX_JOBS:
            return None
        if len(self.jobs) >= self.workers and (self.queued_seconds(1) > self.max_wait
                                                or self.last_wait > self.max_wait):
            return None  # the estimate, and what the last job actually took, both count
        job = Job(self)
        self._tick()
        self.jobs.add(job)
        return job

    def finished(self, job: Job) -> None:
        """A job is over (answered, refused or told to ask again)."""
        self._tick()
        if job in self.jobs:
            self._finished_at.append(self._busy)
            self.last_wait = self.clock() - job.admitted_at
        self.jobs.discard(job)
        if not self.jobs and self._idle is not None:
            self._idle.set()

    def timed(self, func: Callable[..., T], *args: Any) -> T:
        """Call `func` in a worker thread, folding its duration into the running average."""
        started = self.clock()
        try:
            return func(*args)
        finally:
            spent = self.clock() - started
            with self._lock:
                self.seconds_per_job += SMOOTHING * (spent - self.seconds_per_job)

    def spawn(self, job: Job, work: Callable[[Job], Any], name: str) -> asyncio.Task:
        """Run `work(job)` after the response; the job ends with the task, whatever happens."""
        async def run() -> None:
            async with job:
                await work(job)

        task = asyncio.get_running_loop().create_task(run(), name=name)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, grace: float) -> None:
        """Refuse new work, answer what can within `grace` seconds, then make every job still
        computing send its "ask again" reply (idempotent: later calls wait for the first)."""
        if self._drained is None:
            self._drained = asyncio.get_running_loop().create_task(self._drain(grace))
        await asyncio.shield(self._drained)

    async def _drain(self, grace: float) -> None:
        self.draining = True
        waiting = len(self.jobs)
        if not await self._wait_idle(grace):
            dropped = [job for job in self.jobs if job.computing]
            for job in dropped:
                job.abandon()
            log.warning("shutting down: %d of %d queued request(s) answered, %d told to ask again",
                        waiting - len(self.jobs), waiting, len(dropped))
            if not await self._wait_idle(FAREWELL_SECONDS):
                log.error("shutting down with %d reply(ies) still being sent", len(self.jobs))
        elif waiting:
            log.info("shutting down: all %d queued request(s) answered", waiting)

    async def _wait_idle(self, timeout: float) -> bool:
        if not self.jobs:
            return True
        self._idle = asyncio.Event()
        try:
            await asyncio.wait_for(self._idle.wait(), max(timeout, 0.001))
            return True
        except TimeoutError:
            return not self.jobs

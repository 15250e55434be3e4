"""Rate limits and replay memory shared by every process serving one data directory.

`vendorban serve --workers N` runs N processes on one port, and a load balancer may send a user's
requests to any replica on the same machine: a limit or a replay check kept in one process's
memory would allow N times the rate and accept a signature replayed to another process. These
keep the same interface as `bot.chat.limits.RateLimiter` and `SeenSet`, in one SQLite file in
the data directory (`limits.sqlite3`, WAL): each check is one short write transaction, so
processes see each other's hits at once. Times are wall-clock seconds (shared across processes).
Keys are stored as SHA-256 digests (a signature or a user id is never written as such).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.chat.limits import MAX_SEEN_KEYS, MAX_TRACKED_KEYS, WINDOW_SECONDS, SeenSetFull
from bot.core.config import Settings

Clock = Callable[[], float]
FILE_NAME = "limits.sqlite3"
BUSY_SECONDS = 5.0  # how long a check waits for another process's transaction
PURGE_EVERY = 256  # hits between sweeps of every key's expired rows
SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS hits_key ON hits (key, at);
CREATE INDEX IF NOT EXISTS hits_at ON hits (at);
CREATE TABLE IF NOT EXISTS seen (
    name TEXT NOT NULL, key TEXT NOT NULL, expiry REAL NOT NULL, PRIMARY KEY (name, key));
CREATE INDEX IF NOT EXISTS seen_expiry ON seen (name, expiry);
"""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class _Database:
    """One connection per thread and process to the limits file, schema made on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locked) transaction, committed on leaving, rolled back on error."""
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.rollback()
            raise
        connection.commit()

    def _connection(self) -> sqlite3.Connection:
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == os.getpid():
            return held[1]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None,
                                     check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")  # a lost last hit on power loss is fine
        connection.executescript(SCHEMA)
        self._local.held = (os.getpid(), connection)
        return connection


def database(settings: Settings) -> _Database:
    """The limits database of a data directory."""
    return _Database(settings.data_dir / FILE_NAME)


class SharedRateLimiter:
    """At most `per_minute` hits per key in any 60-second window, across processes; `scope`
    keeps separate limits apart in the one file (chat requests, wrong API tokens)."""

    def __init__(self, db: _Database, per_minute: int, scope: str = "chat",
                 clock: Clock = time.time) -> None:
        self.db = db
        self.per_minute = per_minute
        self.scope = scope
        self.clock = clock
        self._calls = 0

    def _key(self, key: str) -> str:
        return f"{self.scope}:{_digest(key)}"

    def waiting(self, key: str) -> float:
        """Seconds before `key` may hit again (0: now), without recording a hit."""
        now = self.clock()
        with self.db.transaction() as db:
            return self._wait(db, self._key(key), now)

    def hit(self, key: str) -> float:
        """Record a hit; 0 when allowed, else the seconds to wait before the next one is."""
        now, stored = self.clock(), self._key(key)
        with self.db.transaction() as db:
            self._calls += 1
            if self._calls % PURGE_EVERY == 0:
                self._purge(db, now)
            db.execute("DELETE FROM hits WHERE key = ? AND at <= ?", (stored, now - WINDOW_SECONDS))
            wait = self._wait(db, stored, now)
            if not wait:
                db.execute("INSERT INTO hits VALUES (?, ?)", (stored, now))
            return wait

    def _wait(self, db: sqlite3.Connection, stored: str, now: float) -> float:
        count, first = db.execute("SELECT count(*), min(at) FROM hits WHERE key = ? AND at > ?",
                                  (stored, now - WINDOW_SECONDS)).fetchone()
        if count >= self.per_minute:
            return max(0.001, WINDOW_SECONDS - (now - first))
        return 0.0

    def _purge(self, db: sqlite3.Connection, now: float) -> None:
        """Drop every expired hit, and the oldest keys past MAX_TRACKED_KEYS live ones."""
        db.execute("DELETE FROM hits WHERE at <= ?", (now - WINDOW_SECONDS,))
        db.execute("DELETE FROM hits WHERE key IN (SELECT key FROM hits GROUP BY key "
                   "ORDER BY max(at) DESC LIMIT -1 OFFSET ?)", (MAX_TRACKED_KEYS,))


class SharedSeenSet:
    """`SeenSet` across processes: keys remembered until their own expiry, never forgotten
    earlier; new keys refused (SeenSetFull) while `max_items` live ones are held."""

    def __init__(self, db: _Database, name: str, ttl: float, max_items: int = MAX_SEEN_KEYS,
                 clock: Clock = time.time) -> None:
        self.db = db
        self.name = name
        self.ttl = ttl
        self.max_items = max_items
        self.clock = clock

    def first(self, key: str, expires_at: float | None = None) -> bool:
        """True the first time a key is offered (in any process) before it expires."""
        now, stored = self.clock(), _digest(key)
        with self.db.transaction() as db:
            db.execute("DELETE FROM seen WHERE name = ? AND expiry < ?", (self.name, now))
            if db.execute("SELECT 1 FROM seen WHERE name = ? AND key = ?",
                          (self.name, stored)).fetchone():
                return False
            if self._count(db) >= self.max_items:
                raise SeenSetFull
            expiry = now + self.ttl if expires_at is None else max(now, expires_at)
            db.execute("INSERT INTO seen VALUES (?, ?, ?)", (self.name, stored, expiry))
            return True

    def _count(self, db: sqlite3.Connection) -> int:
        return db.execute("SELECT count(*) FROM seen WHERE name = ?", (self.name,)).fetchone()[0]

    def __len__(self) -> int:
        with self.db.transaction() as db:
            return self._count(db)

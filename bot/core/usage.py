"""The usage log: answers given (with an `answer_id`), votes on them, and the usage report.

One SQLite file in the data directory (WAL, so `serve`, the Discord bot and the CLI can write
it at once). Recording must never cost an answer: every failure is logged and swallowed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.config import Settings
from bot.core.types import Answer
from bot.render.text import answer_text

if TYPE_CHECKING:  # the assistant pulls in the model and the index: not needed to read the log
    from bot.core.assistant import Assistant
    from bot.core.retrieval import Filters

log = logging.getLogger(__name__)
PLATFORMS = ("api", "cli", "slack", "mattermost", "discord", "web")
VOTES = ("up", "down")
MAX_QUESTION_CHARS = 2000  # stored sizes: a bound on the file, not on what users may ask
MAX_ANSWER_CHARS = 4000
MAX_COMMENT_CHARS = 1000
MAX_CHUNKS = 50
VOTE_THANKS = {"up": "👍 Thanks for your vote: glad it helped.",
               "down": "👎 Thanks for your vote: it goes on the list of answers to improve."}
VOTE_UNKNOWN = ("This answer is no longer on record (the usage log keeps answers for a limited "
                "time), so the vote was not counted.")
BUSY_SECONDS = 1.0  # how long a write waits for another process's lock before giving up
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY, created REAL NOT NULL, platform TEXT NOT NULL,
    user_hash TEXT NOT NULL, question TEXT NOT NULL, normalised TEXT NOT NULL,
    answer TEXT NOT NULL, found INTEGER NOT NULL, chunks TEXT NOT NULL,
    latency_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS answers_created ON answers (created);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL, voter TEXT NOT NULL, vote TEXT NOT NULL, comment TEXT NOT NULL,
    created REAL NOT NULL, PRIMARY KEY (answer_id, voter));
"""


@dataclass(frozen=True)
class VoteRecord:
    """A vote with the question and answer it was given on."""

    answer_id: str
    vote: str
    comment: str
    created: float
    platform: str
    question: str
    answer: str
    found: bool
    chunks: tuple[str, ...]


def normalise_question(question: str) -> str:
    """The text questions are grouped by: lower case, words only ("Who?" == "who")."""
    return " ".join(re.findall(r"\w+", question.lower()))


class UsageLog:
    """Reads and writes `usage.sqlite3` in the data directory; cheap to create."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.enabled = settings.log_questions
        self.path = settings.data_dir / "usage.sqlite3"
        self.salt_path = settings.data_dir / "usage.salt"
        self.retention_days = settings.usage_retention_days
        self.max_rows = settings.usage_max_rows
        self._ready = False
        self._local = threading.local()
        self._salt_bytes = b""

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, in one transaction committed on leaving. Kept open: closing
        the last connection checkpoints the WAL, which cost ~15 ms per answer on a slow disk."""
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS)
            db.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per answer; safe on a crash
            if not self._ready:
                db.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                db.executescript(SCHEMA)
                self._ready = True
            self._local.db = db
        with db:
            yield db

    def hash_user(self, platform: str, user: str) -> str:
        """A salted hash of a user id (the salt stays in the data directory); "" for no user."""
        if not user:
            return ""
        digest = hashlib.sha256(self._salt() + f"{platform}:{user}".encode())
        return digest.hexdigest()[:32]

    def _salt(self) -> bytes:
        if not self._salt_bytes:
            self._salt_bytes = self._read_or_make_salt()
        return self._salt_bytes

    def _read_or_make_salt(self) -> bytes:
        try:
            return self.salt_path.read_bytes()
        except FileNotFoundError:
            pass
        self.salt_path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: when two processes race, both end up with the winner's salt
            fd = os.open(self.salt_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_hex(32).encode())
        except FileExistsError:
            pass
        return self.salt_path.read_bytes()

    def record(self, answer: Answer, platform: str, user: str = "",
               latency: float = 0.0) -> str | None:
        """Store an answer and return its new answer_id; None when recording is off or failed."""
        if not self.enabled:
            return None
        answer_id = secrets.token_hex(16)
        try:
            now = self.clock()
            chunks = [c.chunk_id for c in answer.citations][:MAX_CHUNKS]
            question = answer.question[:MAX_QUESTION_CHARS]
            with self._connect() as db:
                db.execute("INSERT INTO answers VALUES (?,?,?,?,?,?,?,?,?,?)",
                           (answer_id, now, platform, self.hash_user(platform, user), question,
                            normalise_question(question), answer_text(answer)[:MAX_ANSWER_CHARS],
                            int(answer.found), json.dumps(chunks), round(latency * 1000)))
                self._prune(db, now)
        except Exception:  # a full disk or a locked file must not cost the user the answer
            log.warning("could not record an answer in %s", self.path, exc_info=True)
            return None
        return answer_id

    def _prune(self, db: sqlite3.Connection, now: float) -> None:
        """Keep the last `retention_days` days and at most `max_rows` answers (votes follow)."""
        old = db.execute("DELETE FROM answers WHERE created < ?",
                         (now - self.retention_days * 86400,)).rowcount
        # rowids grow with each insert and only the oldest go, so this is a cheap range delete
        old += db.execute("DELETE FROM answers WHERE rowid <= "
                          "(SELECT max(rowid) FROM answers) - ?", (self.max_rows,)).rowcount
        if old:
            db.execute("DELETE FROM votes WHERE answer_id NOT IN (SELECT answer_id FROM answers)")

    def vote(self, answer_id: str, vote: str, comment: str = "", voter: str = "") -> bool:
        """Record a vote; a voter's later vote replaces theirs. False: no such answer."""
        if vote not in VOTES:
            raise ValueError(f"vote must be one of {', '.join(VOTES)}")
        if not self.path.exists():
            return False
        with self._connect() as db:
            if not db.execute("SELECT 1 FROM answers WHERE answer_id = ?", (answer_id,)).fetchone():
                return False
            db.execute("INSERT OR REPLACE INTO votes VALUES (?,?,?,?,?)",
                       (answer_id, voter, vote, comment[:MAX_COMMENT_CHARS], self.clock()))
        return True

    def votes(self, since: float = 0.0) -> list[VoteRecord]:
        """Votes given at or after `since` (unix time), newest first."""
        if not self.path.exists():
            return []
        with self._connect() as db:
            rows = db.execute(
                "SELECT v.answer_id, v.vote, v.comment, v.created, a.platform, a.question, "
                "a.answer, a.found, a.chunks FROM votes v JOIN answers a USING (answer_id) "
                "WHERE v.created >= ? ORDER BY v.created DESC", (since,)).fetchall()
        return [VoteRecord(*row[:7], bool(row[7]), tuple(json.loads(row[8]))) for row in rows]

    def report(self, days: float) -> dict:
        """Questions, answer rate, unanswered (most frequent first), votes, per platform."""
        since = self.clock() - days * 86400
        rows, votes = [], []
        if self.path.exists():
            with self._connect() as db:
                rows = db.execute("SELECT platform, question, normalised, found, latency_ms "
                                  "FROM answers WHERE created >= ? ORDER BY created DESC",
                                  (since,)).fetchall()
                votes = db.execute("SELECT a.platform, v.vote FROM votes v JOIN answers a "
                                   "USING (answer_id) WHERE a.created >= ?", (since,)).fetchall()
        return summarise(rows, votes, days)


def summarise(rows: list[tuple], votes: list[tuple], days: float) -> dict:
    """The report's numbers from (platform, question, normalised, found, latency_ms) rows and
    (platform, vote) pairs; rows newest first, so a group shows its latest wording."""
    unanswered: Counter[str] = Counter(r[2] for r in rows if not r[3])
    wording: dict[str, str] = {}
    for r in rows:
        wording.setdefault(r[2], r[1])
    per_platform: dict[str, dict] = {}
    for platform, _, _, found, _ in rows:
        entry = per_platform.setdefault(platform, {"questions": 0, "answered": 0,
                                                   "votes": {"up": 0, "down": 0}})
        entry["questions"] += 1
        entry["answered"] += bool(found)
    for platform, vote in votes:
        per_platform.setdefault(platform, {"questions": 0, "answered": 0,
                                           "votes": {"up": 0, "down": 0}})["votes"][vote] += 1
    latencies = sorted(r[4] for r in rows)
    answered = sum(bool(r[3]) for r in rows)
    return {
        "days": days,
        "questions": len(rows),
        "answered": answered,
        "answer_rate": round(answered / len(rows), 3) if rows else None,
        "median_latency_ms": latencies[len(latencies) // 2] if latencies else None,
        "unanswered": [{"question": wording[key], "count": n}
                       for key, n in sorted(unanswered.items(), key=lambda kv: (-kv[1], kv[0]))],
        "votes": {kind: sum(v == kind for _, v in votes) for kind in VOTES},
        "platforms": per_platform,
    }


def ask_recorded(assistant: Assistant, usage: UsageLog, question: str,
                 filters: Filters | None = None, platform: str = "api",
                 user: str = "") -> tuple[Answer, str | None]:
    """Answer through the assistant and record the answer: (answer, answer_id or None)."""
    started = time.monotonic()
    answer = assistant.ask(question, filters)
    return answer, usage.record(answer, platform, user, time.monotonic() - started)


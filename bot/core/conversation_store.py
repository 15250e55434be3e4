"""Conversations remembered for follow-up questions: the last turns of each, in one SQLite file in
the data directory (WAL, so `serve`, the bots and `vendorban chat` share it and a restart keeps
a thread). Bounded by turns per conversation, idle time and the number of conversations."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from bot.core.config import Settings
from bot.core.conversation import Rewrite, Subject, follow_filters, rewrite
from bot.core.errors import InputError
from bot.core.questions import clean_question
from bot.core.types import Answer

if TYPE_CHECKING:  # the assistant pulls in the model and the index
    from bot.core.assistant import Assistant
    from bot.core.retrieval import Filters
    from bot.core.usage import UsageLog

log = logging.getLogger(__name__)
CONVERSATION_ID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")  # Slack's "C123:1700000000.12"
BUSY_SECONDS = 1.0
SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, last REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_last ON conversations (last);
CREATE TABLE IF NOT EXISTS turns (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation TEXT NOT NULL, turn TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS turns_conversation ON turns (conversation, seq);
"""
FILTER_FIELDS = ("country", "vendor", "kind", "speaker", "since", "until")


@dataclass(frozen=True)
class Turn:
    """One remembered turn: the question, its standalone form and subject, the filters used."""

    rewrite: Rewrite
    filters: dict[str, str]

    def to_json(self) -> str:
        return json.dumps({**asdict(self.rewrite), "filters": self.filters})

    @classmethod
    def from_json(cls, text: str) -> Turn:
        data = json.loads(text)
        subject = Subject(**{k: tuple(v) if isinstance(v, list) else v
                             for k, v in data["subject"].items()})
        return cls(Rewrite(data["question"], data["standalone"], subject, data["inherited"],
                           data["replaced"]), data["filters"])


def valid_conversation_id(value: str) -> bool:
    """1-128 characters of letters, digits and . _ : @ / + = -."""
    return bool(CONVERSATION_ID.match(value))


class Conversations:
    """Reads and writes `conversations.sqlite3` in the data directory; cheap to create."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.path = settings.data_dir / "conversations.sqlite3"
        self.max_turns = settings.conversation_turns
        self.idle_seconds = settings.conversation_idle_seconds
        self.max_conversations = settings.conversation_max
        self._ready = False
        self._local = threading.local()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, in one transaction committed on leaving."""
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=BUSY_SECONDS)
            db.execute("PRAGMA synchronous=NORMAL")
            if not self._ready:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
                self._ready = True
            self._local.db = db
        with db:
            yield db

    def history(self, conversation: str) -> list[Turn]:
        """The remembered turns of a conversation, oldest first; [] when idle too long."""
        try:
            with self._connect() as db:
                row = db.execute("SELECT last FROM conversations WHERE id = ?",
                                 (conversation,)).fetchone()
                if row is None or self.clock() - row[0] > self.idle_seconds:
                    return []
                rows = db.execute("SELECT turn FROM turns WHERE conversation = ? ORDER BY seq "
                                  "DESC LIMIT ?", (conversation, self.max_turns)).fetchall()
            return [Turn.from_json(r[0]) for r in reversed(rows)]
        except Exception:  # a broken file costs the thread, never the answer
            log.warning("could not read conversation history from %s", self.path, exc_info=True)
            return []

    def add(self, conversation: str, turn: Turn) -> None:
        """Remember a turn; the oldest turns, idle and surplus conversations are dropped."""
        now = self.clock()
        try:
            with self._connect() as db:
                db.execute("INSERT INTO turns (conversation, turn) VALUES (?, ?)",
                           (conversation, turn.to_json()))
                db.execute("INSERT OR REPLACE INTO conversations VALUES (?, ?)",
                           (conversation, now))
                db.execute("DELETE FROM turns WHERE conversation = ? AND seq NOT IN (SELECT seq "
                           "FROM turns WHERE conversation = ? ORDER BY seq DESC LIMIT ?)",
                           (conversation, conversation, self.max_turns))
                self._prune(db, now)
        except Exception:
            log.warning("could not remember a turn in %s", self.path, exc_info=True)

    def _prune(self, db: sqlite3.Connection, now: float) -> None:
        gone = db.execute("DELETE FROM conversations WHERE last < ?",
                          (now - self.idle_seconds,)).rowcount
        gone += db.execute("DELETE FROM conversations WHERE id IN (SELECT id FROM conversations "
                           "ORDER BY last DESC LIMIT -1 OFFSET ?)",
                           (self.max_conversations,)).rowcount
        if gone:
            db.execute("DELETE FROM turns WHERE conversation NOT IN (SELECT id FROM conversations)")

    def count(self) -> int:
        """How many conversations are kept (idle ones until the next write prunes them)."""
        with self._connect() as db:
            return db.execute("SELECT count(*) FROM conversations").fetchone()[0]


def filters_to_dict(filters: Filters | None) -> dict[str, str]:
    """Filters as stored with a turn: the fields that are set, as text."""
    if filters is None:
        return {}
    return {name: str(getattr(filters, name)) for name in FILTER_FIELDS
            if getattr(filters, name)}


def filters_from_dict(fields: dict[str, str]) -> Filters | None:
    """The Filters of a stored turn (dates read back as partial dates)."""
    from bot.core.dates import parse_partial_date
    from bot.core.retrieval import Filters

    if not fields:
        return None
    values = {k: parse_partial_date(v) if k in ("since", "until") else v
              for k, v in fields.items() if k in FILTER_FIELDS}
    return Filters(**values)


def ask_followup(assistant: Assistant, usage: UsageLog, conversations: Conversations,
                 conversation: str | None, question: str, filters: Filters | None = None,
                 platform: str = "api", user: str = "") -> tuple[Answer, str | None, Rewrite]:
    """Answer a question in a conversation, a follow-up rewritten from the earlier turns:
    (answer, answer_id or None, the question as asked and as answered). No conversation: no
    memory."""
    from bot.core.usage import ask_recorded

    if not conversation:
        answer, answer_id = ask_recorded(assistant, usage, question, filters, platform, user)
        return answer, answer_id, Rewrite(answer.question, answer.question)
    if not valid_conversation_id(conversation):
        raise InputError("A conversation id is 1-128 letters, digits or . _ : @ / + = -.")
    limit = assistant.settings.max_question_chars
    question = clean_question(question, limit)
    history = conversations.history(conversation)
    turn = rewrite(question, [t.rewrite for t in history])
    if len(turn.standalone) > limit:  # the question stands as asked rather than be refused
        turn = Rewrite(question, question, turn.subject)
    previous = history[-1].filters if history else {}
    used = follow_filters(turn, filters_to_dict(filters), previous)
    answer, answer_id = ask_recorded(assistant, usage, turn.standalone,
                                     filters_from_dict(used), platform, user)
    conversations.add(conversation, Turn(turn, used))
    return answer, answer_id, turn

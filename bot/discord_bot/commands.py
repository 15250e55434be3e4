"""The slash commands' logic, shared by both transports: command + options -> message payload.

Everything here is blocking (it calls the core); the transports run it in a worker thread.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable

from bot.core.assistant import Assistant
from bot.core.errors import BotError
from bot.core.retrieval import Filters
from bot.core.usage import VOTE_THANKS, UsageLog, ask_recorded
from bot.discord_bot import render

log = logging.getLogger(__name__)

PAGE_SIZE = 10
CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
PRIVATE_COMMANDS = frozenset({"sources", "about"})  # look-ups: only the caller sees them
COOLDOWN_COMMANDS = frozenset({"ask", "quote"})  # the ones that run retrieval
_VOTE_ID = re.compile(r"vote:(up|down):([\w-]{1,90})")  # a button's custom_id (<= 100 chars)
VOTE_NOT_STORED = "Your vote could not be stored right now; please try again later."
UNEXPECTED = "Sorry, something went wrong while answering. Please try again in a moment."

# User-facing text: Discord shows it in the command picker (descriptions are at most 100 chars).
DESCRIPTIONS = {
    "ask": "Ask about government bans on telecom vendors; the answer cites its sources.",
    "quote": "What a person said about the bans, word for word, with sources.",
    "sources": "List the news articles and statements I answer from.",
    "about": "What this bot is and how much it knows.",
}
OPTION_DESCRIPTIONS = {
    "ask": {"question": "Your question, e.g. Which countries have banned Huawei from 5G?",
            "country": "Only use sources about this country, e.g. Japan",
            "vendor": "Only use sources about this vendor, e.g. Huawei or ZTE",
            "private": "Show the answer only to you (default: everyone in the channel sees it)"},
    "quote": {"speaker": "Whose words you want; start typing a name",
              "about": "Only what they said about this topic, e.g. 5G"},
    "sources": {"search": "Only documents whose title or outlet has these words",
                "page": "Which page of the list to show"},
}


def ask(assistant: Assistant, question: str, country: str | None = None,
        vendor: str | None = None, usage: UsageLog | None = None, user: str = "") -> dict:
    """A cited answer to a question (recorded, with vote buttons, when a usage log is given)."""
    filters = Filters(country=country or None, vendor=vendor or None)
    if usage is None:
        return render.render_answer(assistant.ask(question, filters))
    answer, answer_id = ask_recorded(assistant, usage, question, filters, "discord", user)
    return render.with_vote_buttons(render.render_answer(answer), answer_id)


def quote(assistant: Assistant, speaker: str, about: str | None = None) -> dict:
    """A speaker's words, verbatim, cited."""
    return render.render_answer(assistant.quote(speaker, about or None))


def sources(assistant: Assistant, search: str | None = None, page: int = 1) -> dict:
    """One page of the documents in the index."""
    assistant.ensure_ready()
    rows = assistant.sources(search or None)
    pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
    page = min(max(1, int(page)), pages)
    shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    return render.render_sources(shown, page, pages, len(rows), search or None)


def about(assistant: Assistant) -> dict:
    """What the bot is and what its index holds."""
    return render.render_about(assistant.stats())


HANDLERS: dict[str, Callable[..., dict]] = {"ask": ask, "quote": quote, "sources": sources,
                                            "about": about}
PARAMETERS = {"ask": ("question", "country", "vendor"), "quote": ("speaker", "about"),
              "sources": ("search", "page"), "about": ()}


def execute(assistant: Assistant, name: str, options: dict, usage: UsageLog | None = None,
            user: str = "") -> tuple[dict, bool]:
    """Run a command: (payload, failed). Known errors are shown; others are logged, not shown."""
    try:
        kwargs = {k: v for k, v in options.items() if k in PARAMETERS[name] and v is not None}
        if name == "ask" and usage is not None:
            kwargs |= {"usage": usage, "user": user}
        return HANDLERS[name](assistant, **kwargs), False
    except BotError as exc:
        return render.render_error(str(exc)), True
    except Exception:
        log.exception("discord command /%s failed", name)
        return render.render_error(UNEXPECTED), True


def parse_vote(custom_id: object) -> tuple[str, str] | None:
    """(vote, answer_id) from a vote button's custom_id; None for anything else."""
    found = _VOTE_ID.fullmatch(custom_id) if isinstance(custom_id, str) else None
    return (found.group(1), found.group(2)) if found else None


def record_vote(usage: UsageLog, answer_id: str, vote: str, user: str) -> bool:
    """Store a button vote (the voter as a salted hash); False when the answer is not on record."""
    return usage.vote(answer_id, vote, "", usage.hash_user("discord", user))


def thanked(content: str, vote: str) -> str:
    """A voted-on message's content with the thank-you line added (its buttons are dropped)."""
    thanks = VOTE_THANKS[vote]
    return render.clip(f"{content}\n{thanks}" if content else thanks, render.CONTENT_MAX)


def is_private(name: str, options: dict) -> bool:
    """Whether the reply is ephemeral (fixed when the interaction is deferred)."""
    return name in PRIVATE_COMMANDS or bool(options.get("private"))


def speaker_choices(assistant: Assistant, typed: str) -> list[str]:
    """Known speakers matching what the user typed, prefix matches first, at most 25."""
    typed = " ".join(typed.lower().split())
    names = [n for n in assistant.speakers() if len(n) <= CHOICE_NAME_MAX]
    if not typed:
        return names[:CHOICES_MAX]
    starts = [n for n in names if any(w.startswith(typed) for w in [n.lower(), *n.lower().split()])]
    inside = [n for n in names if typed in n.lower() and n not in starts]
    return (starts + inside)[:CHOICES_MAX]


class Cooldown:
    """Per-user cooldown: one command per `seconds`, shared by every command that uses it."""

    MAX_USERS = 10_000  # forget expired users beyond this, so the table stays bounded

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[str, float] = {}

    def retry_after(self, user_id: object) -> float:
        """0 and the use recorded when the user may go; else the seconds left to wait."""
        if self.seconds <= 0:
            return 0.0
        now, key = self._clock(), str(user_id)
        last = self._last.get(key)
        if last is not None and now - last < self.seconds:
            return self.seconds - (now - last)
        if len(self._last) >= self.MAX_USERS:
            self._last = {k: t for k, t in self._last.items() if now - t < self.seconds}
        self._last[key] = now
        return 0.0


def cooldown_message(wait: float) -> str:
    """What a user hitting the cooldown reads."""
    return f"You are going a little fast: try again in {max(1, math.ceil(wait))} s."

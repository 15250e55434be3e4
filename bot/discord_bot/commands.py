"""Discord's side of the shared dispatcher, for both transports: a command's options -> a
`ChatRequest`, a `Reply` -> a message payload; and the vote buttons' bookkeeping.

The commands themselves (names, options, ranges, descriptions) are declared once, in
`bot.discord_bot.schema`; what they do is `bot.chat.dispatch`'s, as for Slack and Mattermost.
"""

from __future__ import annotations

import re

from bot.chat.dispatch import ChatRequest, Reply, conversation_id
from bot.core.assistant import Assistant
from bot.core.usage import VOTE_THANKS, UsageLog
from bot.discord_bot import render

PAGE_SIZE = 10
CHOICES_MAX = 25
CHOICE_NAME_MAX = 100
PRIVATE_COMMANDS = frozenset({"sources", "about", "subscribe", "unsubscribe"})  # the caller's
THREAD_TYPES = frozenset({10, 11, 12})  # Discord's thread channel types
_VOTE_ID = re.compile(r"vote:(up|down):([\w-]{1,90})")  # a button's custom_id (<= 100 chars)
VOTE_NOT_STORED = "Your vote could not be stored right now; please try again later."


def chat_request(name: str, options: dict, user: str = "", channel: str = "",
                 conversation: str = "") -> ChatRequest:
    """The dispatcher's request for a Discord command and its (validated) options; `channel` is
    where it was used, `conversation` the thread it continues (none: a new one)."""
    request = ChatRequest(name, public=not is_private(name, options), platform="discord",
                          user=user, channel=channel)
    if name == "ask":
        request.argument = str(options.get("question") or "")
        request.country = str(options.get("country") or "")
        request.vendor = str(options.get("vendor") or "")
        request.conversation = conversation
    elif name == "quote":
        request.argument = str(options.get("speaker") or "")
        request.topic = str(options.get("about") or "")
    elif name in ("subscribe", "unsubscribe"):
        request.argument = str(options.get("country") or "")
    elif name == "sources":
        request.argument = str(options.get("search") or "")
        request.page, request.page_size = int(options.get("page") or 1), PAGE_SIZE
    return request


def thread_conversation(guild: object, channel: object, channel_type: object) -> str:
    """The conversation of a thread (every /ask in it continues it); "" outside a thread."""
    if channel_type not in THREAD_TYPES:
        return ""
    return conversation_id("discord", str(guild or "dm"), str(channel or ""))


def payload_of(reply: Reply) -> tuple[dict, bool]:
    """The message payload for a dispatcher reply, and whether it reports a failure."""
    if reply.kind == "answer" and reply.answer is not None:
        return render.with_vote_buttons(render.render_answer(reply.answer), reply.answer_id), False
    if reply.kind == "sources":
        return render.render_sources(reply.sources, reply.page, reply.pages, reply.total_sources,
                                     reply.search or None), False
    if reply.kind == "about":
        return render.render_about(reply.stats), False
    if reply.kind == "notice":
        return render.render_error(reply.message), False
    return render.render_error(reply.message or "I do not know that command."), True


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

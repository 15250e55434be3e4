"""The one command dispatcher of the chat front ends: a `ChatRequest` (from Slack or Mattermost
text, or a Discord command's options) runs against the core and comes back as a `Reply`, which
each front end renders for its platform."""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.core.assistant import Assistant
from bot.core.config import Settings
from bot.core.conversation_store import Conversations, ask_followup, valid_conversation_id
from bot.core.errors import BotError
from bot.core.questions import clean_question
from bot.core.retrieval import Filters
from bot.core.types import Answer
from bot.core.usage import UsageLog, ask_recorded

if TYPE_CHECKING:
    from ingest.alerts import Subscriptions

log = logging.getLogger(__name__)
MAX_FILTER_CHARS = 60  # a country or vendor name
MAX_SOURCES = 40  # a listing beyond this is cut by the renderers anyway
HELP_LINES: tuple[tuple[str, str], ...] = (
    ("<question>", "answer a question from the corpus, with sources (only you see it)"),
    ("public <question>", "answer in the channel, for everyone to see"),
    ("sources [search]", "list the documents in the index, optionally matching words"),
    ("quote <speaker> [about <topic>]", "what a person said, verbatim and cited"),
    ("subscribe [country]", "post new documents (about a country) to this channel"),
    ("unsubscribe [country|id]", "stop this channel's alerts (all, or one)"),
    ("subscriptions", "list this channel's alerts"),
    ("help", "show this help"),
)
CHANNEL_ACTIONS = ("subscribe", "unsubscribe", "subscriptions")  # alerts to the asking channel
UNEXPECTED = "Sorry, something went wrong on our side; please try again later."
SUBCOMMANDS = ("help", "sources", "quote", *CHANNEL_ACTIONS)
_COMMAND_LIKE = re.compile(r"^[a-z][a-z_-]*$")  # one lowercase word: a sub-command, not a question


@dataclass
class ChatRequest:
    """What a chat message asks for."""

    action: str  # "ask", "sources", "quote", "about", "help" or one of CHANNEL_ACTIONS
    argument: str = ""  # the question, the speaker or the sources search
    public: bool = False
    note: str = ""  # shown above the help, e.g. "Unknown command `foo`."
    platform: str = ""  # "slack", "mattermost" or "discord", and the asker (hashed when
    user: str = ""  # recorded): the usage log
    conversation: str = ""  # a thread's id: a question in it is a follow-up of the earlier ones
    country: str = ""  # filters of a question (Discord's options)
    vendor: str = ""
    topic: str = ""  # a quote's "about"
    page: int = 1  # which page of sources, `page_size` to a page
    page_size: int = MAX_SOURCES
    channel: str = ""  # where it was asked: the channel alerts go to

    def filters(self) -> Filters | None:
        """The question's filters, None when it has none."""
        if not (self.country or self.vendor):
            return None
        return Filters(country=self.country or None, vendor=self.vendor or None)


@dataclass
class Reply:
    """What to show the user, before rendering for a platform."""

    kind: str  # "answer", "sources", "about", "notice" (a plain message), "help" or "error"
    answer: Answer | None = None
    sources: list[dict] = field(default_factory=list)
    total_sources: int = 0
    page: int = 1
    pages: int = 1
    stats: dict = field(default_factory=dict)  # "about": what the index holds
    search: str = ""
    message: str = ""
    public: bool = False
    answer_id: str | None = None  # the recorded answer's id: what a vote button refers to
    asked: str = ""  # the question as typed, when a follow-up was answered as a rewritten one


def too_fast(wait: float) -> str:
    """What a user over the rate limit reads, on every platform."""
    return f"You are asking too fast; try again in {max(1, math.ceil(wait))} s."


def rate_key(platform: str, team: str, user: str) -> str:
    """The rate limiter's key for one user on one platform (Discord users have no team)."""
    return f"{platform}:{team}:{user}"


def command_name(raw: str) -> str:
    """The slash command as the user typed it, reduced to safe characters for echoing."""
    name = re.sub(r"[^\w-]", "", raw or "")[:32]
    return f"/{name}" if name else "/vendorban"


def parse_request(text: str) -> ChatRequest:
    """Split `[public] [sub-command] argument` out of a slash command's or mention's text."""
    words = (text or "").split()
    public = bool(words) and words[0].lower() == "public"
    if public:
        words = words[1:]
    if not words:
        return ChatRequest("help", public=public)
    head, rest = words[0].lower(), " ".join(words[1:])
    if head in SUBCOMMANDS:
        if head == "quote" and not rest:
            return ChatRequest("help", public=public, note="`quote` needs a speaker's name.")
        return ChatRequest(head, rest, public)
    if len(words) == 1 and _COMMAND_LIKE.match(words[0]):
        return ChatRequest("help", public=public, note=f"Unknown command `{words[0][:40]}`.")
    return ChatRequest("ask", " ".join(words), public)


def immediate_reply(request: ChatRequest, max_question_chars: int) -> Reply | None:
    """The reply when no core call is needed (help, a question too long or empty); else None."""
    if request.action == "help":
        return Reply("help", message=request.note, public=False)
    if request.action == "ask":
        try:
            clean_question(request.argument, max_question_chars)
        except BotError as exc:
            return Reply("error", message=str(exc))
    return None


def execute(assistant: Assistant, request: ChatRequest, usage: UsageLog | None = None,
            conversations: Conversations | None = None) -> Reply:
    """Run a request against the core (blocking: call it from a worker thread)."""
    try:
        if request.action == "sources":
            return _sources(assistant, request)
        if request.action == "about":
            return Reply("about", stats=assistant.stats(), public=request.public)
        if request.action == "quote":
            speaker, _, about = request.argument.partition(" about ")
            answer = assistant.quote(speaker.strip(), request.topic or about.strip() or None)
            return Reply("answer", answer=answer, public=request.public)
        if request.action == "ask" and usage and conversations and request.conversation:
            return _follow_up(assistant, request, usage, conversations)
        if request.action == "ask":
            answer, answer_id = (ask_recorded(assistant, usage, request.argument,
                                              request.filters(), request.platform, request.user)
                                 if usage else (assistant.ask(request.argument,
                                                              request.filters()), None))
            return Reply("answer", answer=answer, public=request.public, answer_id=answer_id)
        return Reply("help", message=request.note)
    except BotError as exc:
        return Reply("error", message=str(exc))
    except Exception:
        log.exception("chat request failed (%s)", request.action)
        return Reply("error", message=UNEXPECTED)


def channel_alerts(settings: Settings, request: ChatRequest) -> Reply:
    """Subscribe, unsubscribe or list the asking channel's alerts on new documents (blocking:
    a small file write under a lock)."""
    from ingest.alerts import CHANNEL_PLATFORMS, Subscriptions

    if request.platform not in CHANNEL_PLATFORMS:
        return Reply("error", message="Alerts cannot be posted to this platform's channels yet: "
                     "ask an admin to run `vendorban subscribe --webhook URL` with an incoming "
                     "webhook of this channel.")
    if not request.channel:
        return Reply("error", message="Run this in the channel that should get the alerts.")
    if len(request.argument) > MAX_FILTER_CHARS:
        return Reply("error", message=f"A country is at most {MAX_FILTER_CHARS} characters.")
    try:
        return _channel_alerts(settings, request, Subscriptions(settings))
    except BotError as exc:
        return Reply("error", message=str(exc))


def _channel_alerts(settings: Settings, request: ChatRequest, subs: Subscriptions) -> Reply:
    token = (settings.slack_bot_token if request.platform == "slack" else settings.discord_token)
    if request.action == "subscribe" and not token.get_secret_value():
        return Reply("error", message="Alerts need the bot's token, which is not configured here "
                     f"(VENDORBAN_{request.platform.upper()}_"
                     f"{'BOT_TOKEN' if request.platform == 'slack' else 'TOKEN'}).")
    where = (request.platform, request.channel)
    if request.action == "subscribe":
        sub = subs.add_channel(*where, country=request.argument)
        about = f" about {sub.country}" if sub.country else ""
        return Reply("notice", message=f"This channel will be told about new documents{about} "
                     f"(subscription {sub.id}).", public=request.public)
    if request.action == "unsubscribe":
        gone = subs.remove_channel(*where, request.argument)
        text = (f"Stopped {len(gone)} alert subscription(s) of this channel." if gone
                else "This channel had no matching alert subscription.")
        return Reply("notice", message=text, public=request.public)
    lines = [f"{s.id}: new documents about {s.country or 'any country'}"
             for s in subs.of_channel(*where)]
    return Reply("notice", message="\n".join(lines) or "This channel gets no alerts; "
                 "subscribe it with `subscribe [country]`.", public=request.public)


def _sources(assistant: Assistant, request: ChatRequest) -> Reply:
    """One page of the documents in the index (the first `page_size` when not paged)."""
    rows = assistant.sources(request.argument or None)
    size = max(1, request.page_size)
    pages = max(1, math.ceil(len(rows) / size))
    page = min(max(1, request.page), pages)
    return Reply("sources", sources=rows[(page - 1) * size: page * size], total_sources=len(rows),
                 search=request.argument, public=request.public, page=page, pages=pages)


def _follow_up(assistant: Assistant, request: ChatRequest, usage: UsageLog,
               conversations: Conversations) -> Reply:
    """A question in a thread: answered as the standalone question it stands for."""
    answer, answer_id, turn = ask_followup(assistant, usage, conversations, request.conversation,
                                           request.argument, request.filters(),
                                           request.platform, request.user)
    asked = turn.question if turn.standalone != turn.question else ""
    return Reply("answer", answer=answer, public=request.public, answer_id=answer_id, asked=asked)


def conversation_id(*parts: str) -> str:
    """A conversation id made of a thread's coordinates; "" (no memory) when they do not fit."""
    value = ":".join(parts)
    return value if all(parts) and valid_conversation_id(value) else ""

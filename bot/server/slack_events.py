"""Slack Events API callbacks, whichever transport brought them (HTTP Events API or Socket Mode):
app mentions, and plain replies in threads where the bot answered, each answered in its thread
(through chat.postMessage, after the ack)."""

from __future__ import annotations

import asyncio
import html
import logging
import re

from bot.chat.dispatch import (
    ChatRequest,
    conversation_id,
    execute,
    immediate_reply,
    parse_request,
)
from bot.chat.services import Services
from bot.chat.workload import BUSY, RESTARTING, Job, Restarting, Workload
from bot.server import render_slack

log = logging.getLogger(__name__)
EVENT_MEMORY_SECONDS = 3600  # Slack retries an event for a few minutes; keep ids an hour
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
# a user's reply as posted or broadcast to the channel too; edits, deletions, joins, bot posts
# and the like carry other subtypes and are never answered
REPLY_SUBTYPES = (None, "", "thread_broadcast")


class SlackEvents:
    """Takes verified Events API payloads; remembers what it has seen so each message is answered
    at most once (Slack retries an event, and a mention in a thread comes both as `app_mention`
    and as `message`)."""

    def __init__(self, services: Services, workload: Workload) -> None:
        self.services = services
        self.workload = workload
        self.ids = services.seen_set("slack-events", EVENT_MEMORY_SECONDS)  # of mentions
        # channel:ts of the messages answered
        self.messages = services.seen_set("slack-messages", EVENT_MEMORY_SECONDS)

    def take(self, payload: dict) -> None:
        """Start answering an `event_callback` (never blocks: the caller acks right after);
        SeenSetFull when too many ids are remembered to take a new one safely."""
        event = payload.get("event") if isinstance(payload.get("event"), dict) else {}
        team = str(payload.get("team_id", ""))
        if event.get("type") == "app_mention" and not event.get("bot_id"):
            event_id = str(payload.get("event_id") or "")
            if not event_id or not self.ids.first(event_id):
                log.info("ignored a retried or unidentified Slack event")
            elif self._first_time(event):
                self._answer(team, event, reply_only=False)
        elif is_thread_reply(event, bot_users(payload)):
            # nothing is remembered for the many messages of threads the bot is not in; a
            # retried reply is turned away by `_first_time` when it comes to be answered
            self.services.delivery.spawn(self._follow_thread(team, event),
                                         name="slack thread reply")

    def _first_time(self, event: dict) -> bool:
        return self.messages.first(f"{event.get('channel', '')}:{event.get('ts', '')}")

    async def _follow_thread(self, team: str, event: dict) -> None:
        """A reply in a thread: answered when the bot has answered a question there before."""
        thread = thread_conversation(team, event)
        if not thread:
            return
        history = await asyncio.to_thread(self.services.conversations.history, thread)
        if history and self._first_time(event):
            self._answer(team, event, reply_only=True)

    def _answer(self, team: str, event: dict, reply_only: bool) -> None:
        """Answer a message in its thread; `reply_only`: a plain reply, answered only when it
        asks something (chatter such as "thanks" gets no help text)."""
        services, workload = self.services, self.workload
        token = services.settings.slack_bot_token.get_secret_value()
        if not token:
            log.warning("cannot answer in a Slack thread: VENDORBAN_SLACK_BOT_TOKEN is not set")
            return
        chat = thread_request(team, event)
        if reply_only and chat.action == "help":
            return
        if services.limiter.hit(f"slack:{chat.user}"):
            log.info("dropped a Slack message over the rate limit")
            return
        target = {"channel": event.get("channel"),
                  "thread_ts": event.get("thread_ts") or event.get("ts")}
        api = services.settings.slack_api_url.rstrip("/")
        reply = immediate_reply(chat, services.settings.max_question_chars)
        job = workload.admit()
        if job is None:  # only the asker sees why there is no answer
            busy = {"text": RESTARTING if workload.draining else BUSY, "user": event.get("user")}
            services.delivery.spawn(services.delivery.post(f"{api}/chat.postEphemeral",
                                                           busy | target, token=token),
                                    name="slack busy reply")
            return

        async def answer(job: Job) -> None:
            try:
                message = render_slack.render(reply or await job.run(
                    execute, services.assistant, chat, services.usage, services.conversations))
                message.pop("response_type")
            except Restarting:
                message = {"text": RESTARTING}
            await services.delivery.post(f"{api}/chat.postMessage", message | target,
                                         token=token)

        workload.spawn(job, answer, name="slack thread answer")


def thread_request(team: str, event: dict) -> ChatRequest:
    """What a message in a thread asks (mentions taken out), as a turn of the thread's
    conversation: every message in a thread is a turn of the same one."""
    text = html.unescape(_MENTION.sub(" ", str(event.get("text", ""))))
    chat = parse_request(text)
    chat.public = True  # a thread reply is seen by the channel; help stays help
    chat.platform, chat.user = "slack", f"{team}:{event.get('user', '')}"
    chat.conversation = thread_conversation(team, event)
    return chat


def thread_conversation(team: str, event: dict) -> str:
    """The conversation of the thread a message is in (or starts): keyed by the thread's root."""
    root = str(event.get("thread_ts") or event.get("ts") or "")
    return conversation_id("slack", team, str(event.get("channel") or ""), root)


def bot_users(payload: dict) -> set[str]:
    """The bot's own user ids, as the payload's `authorizations` name them."""
    rows = payload.get("authorizations")
    return {str(a.get("user_id")) for a in rows if isinstance(a, dict) and a.get("is_bot")} \
        if isinstance(rows, list) else set()


def is_thread_reply(event: dict, own_users: set[str]) -> bool:
    """A person's new message inside a thread (not its root, not an edit, not a bot's post)."""
    return (event.get("type") == "message" and event.get("subtype") in REPLY_SUBTYPES
            and not event.get("bot_id") and bool(event.get("user"))
            and str(event.get("user")) not in own_users
            and bool(event.get("thread_ts")) and event.get("thread_ts") != event.get("ts"))

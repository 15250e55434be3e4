"""Slack vote buttons pressed: a verified `block_actions` payload (a signed HTTP form, or a Socket
Mode envelope) -> a vote in the usage log, and the answer shown again with a thank-you where its
buttons were (through the payload's response_url, after the ack)."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import HTTPException

from bot.chat.dispatch import rate_key, too_fast
from bot.chat.services import Services
from bot.core.usage import VOTE_THANKS as THANKS
from bot.core.usage import VOTE_UNKNOWN as NOT_ON_RECORD
from bot.server.forms import parse_form
from bot.server.render_slack import MAX_BLOCKS, MAX_FALLBACK_CHARS, VOTE_ACTIONS

log = logging.getLogger(__name__)
_ANSWER_ID = re.compile(r"[\w-]{1,128}")  # what UsageLog.record hands out, with room to spare
NOT_STORED = "Your vote could not be stored right now; please try again later."


class MalformedInteraction(ValueError):
    """An interaction payload that cannot be read (its message says what is wrong)."""


@dataclass(frozen=True)
class VoteClick:
    """A press of 👍 or 👎 on an answer."""

    answer_id: str
    vote: str  # "up" or "down"
    voter: str  # team:user, hashed before it is stored
    response_url: str
    message: dict | None  # the message the buttons are on (Slack leaves it out for ephemeral ones)


def parse_vote(body: bytes) -> VoteClick | None:
    """The vote in an HTTP interaction body; None for other interactions; 400 when malformed."""
    form = parse_form(body, required=("payload",))
    try:
        payload = json.loads(form["payload"])
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
        raise HTTPException(400, "Malformed interaction payload.") from None
    try:
        return vote_click(payload)
    except MalformedInteraction as exc:
        raise HTTPException(400, str(exc)) from None


def vote_click(payload: object) -> VoteClick | None:
    """The vote in an interaction payload; None for other interactions; MalformedInteraction."""
    if not isinstance(payload, dict) or not isinstance(payload.get("actions", []), list):
        raise MalformedInteraction("Malformed interaction payload.")
    if payload.get("type") != "block_actions":
        return None
    action = next((a for a in payload.get("actions", []) if isinstance(a, dict)
                   and a.get("action_id") in VOTE_ACTIONS), None)
    if action is None:
        return None
    answer_id, url = action.get("value"), payload.get("response_url")
    if not (isinstance(answer_id, str) and _ANSWER_ID.fullmatch(answer_id)):
        raise MalformedInteraction("The vote names no answer.")
    if not (isinstance(url, str) and urlsplit(url).scheme in ("http", "https")):
        raise MalformedInteraction("response_url must be an http(s) URL.")
    user = _dict(payload.get("user"))
    team = _dict(payload.get("team")).get("id") or user.get("team_id") or ""
    message = payload.get("message")
    return VoteClick(answer_id, VOTE_ACTIONS[action["action_id"]], f"{team}:{user.get('id', '')}",
                     url, message if isinstance(message, dict) else None)


def thanked(click: VoteClick) -> dict:
    """The voted-on message with its buttons swapped for a thank-you line; without the message
    (an ephemeral answer), a thank-you of its own."""
    blocks = click.message.get("blocks") if click.message else None
    if not isinstance(blocks, list):
        return ephemeral(THANKS[click.vote])
    kept = [b for b in blocks if isinstance(b, dict) and not _is_vote_block(b)]
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": THANKS[click.vote]}]}
    text = str((click.message or {}).get("text") or THANKS[click.vote])[:MAX_FALLBACK_CHARS]
    return {"replace_original": True, "text": text, "blocks": [*kept[:MAX_BLOCKS - 1], note]}


def ephemeral(text: str) -> dict:
    """A message only the voter sees, leaving the answer as it is."""
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


async def take_vote(services: Services, click: VoteClick | None) -> None:
    """Record a verified vote and post the reply to its response_url (None: nothing to do)."""
    if click is None:
        return
    team, _, user = click.voter.partition(":")
    wait = services.limiter.hit(rate_key("slack", team, user))  # the commands' budget
    if wait:
        reply = ephemeral(too_fast(wait))
    else:
        try:  # the side pool: a vote must not queue behind questions being answered
            known = await services.run_side(_record, services, click)
        except Exception:
            log.warning("could not store a Slack vote", exc_info=True)
            reply = ephemeral(NOT_STORED)
        else:
            reply = thanked(click) if known else ephemeral(NOT_ON_RECORD)
    services.delivery.spawn(services.delivery.post(click.response_url, reply),
                            name="slack vote reply")


def _record(services: Services, click: VoteClick) -> bool:
    voter = services.usage.hash_user("slack", click.voter)
    return services.usage.vote(click.answer_id, click.vote, "", voter)


def _is_vote_block(block: dict) -> bool:
    elements = block.get("elements") if block.get("type") == "actions" else None
    return isinstance(elements, list) and any(
        isinstance(e, dict) and e.get("action_id") in VOTE_ACTIONS for e in elements)


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}

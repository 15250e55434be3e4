"""Slack adapter: signed slash commands (ack now, answer via response_url) and app mentions."""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Mapping

from fastapi import APIRouter, HTTPException, Request, Response
from slack_sdk.signature import Clock, SignatureVerifier

from bot.server import render_slack
from bot.server.commands import conversation_id, execute, immediate_reply, parse_request
from bot.server.forms import parse_form
from bot.server.limits import SeenSet, SeenSetFull
from bot.server.services import Services
from bot.server.shared_limits import SharedSeenSet
from bot.server.slack_votes import take_vote
from bot.server.slash import answer_slash_command
from bot.server.workload import BUSY, RESTARTING, Job, Restarting, Workload

log = logging.getLogger(__name__)
WINDOW_SECONDS = 300  # Slack's replay window, either side of the request's timestamp
EVENT_MEMORY_SECONDS = 3600  # Slack retries an event for a few minutes; keep ids an hour
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


class _ServiceClock(Clock):
    """slack_sdk's clock interface over the server's clock (tests move it past the window)."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


def build_router(services: Services, workload: Workload) -> APIRouter:
    """Routes under /slack for an app whose signing secret is configured."""
    settings = services.settings
    verifier = SignatureVerifier(settings.slack_signing_secret.get_secret_value(),
                                 clock=_ServiceClock(services.clock))
    signatures = services.seen_set("slack-signatures", WINDOW_SECONDS, clock=services.clock)
    events = services.seen_set("slack-events", EVENT_MEMORY_SECONDS)
    router = APIRouter(prefix="/slack", tags=["slack"])

    async def verified_body(request: Request) -> bytes:
        """The raw body, once its signature is good, fresh and not seen before; else 401."""
        body = await request.body()
        signature = request.headers.get("x-slack-signature", "")
        valid = _is_valid(verifier, body, request.headers)
        # a signature stays acceptable until its timestamp leaves the window: remember it so long
        if not valid or not _first(signatures, signature, request.headers):
            log.warning("rejected a Slack request: bad, stale or replayed signature")
            raise HTTPException(401, "Invalid or stale Slack signature.")
        return body

    @router.post("/commands", summary="Slack slash command")
    async def slash_command(request: Request) -> dict:
        form = parse_form(await verified_body(request), required=("user_id", "response_url"))
        return answer_slash_command(services, workload, form, "slack", render_slack.render,
                                    render_slack.searching, {"replace_original": False})

    @router.post("/events", summary="Slack Events API")
    async def event(request: Request) -> Response:
        body = await verified_body(request)
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            raise HTTPException(400, "Malformed JSON body.") from None
        if not isinstance(payload, dict):
            raise HTTPException(400, "Malformed event payload.")
        if payload.get("type") == "url_verification":
            return Response(json.dumps({"challenge": str(payload.get("challenge", ""))}),
                            media_type="application/json")
        inner = payload.get("event") if isinstance(payload.get("event"), dict) else {}
        event_id = str(payload.get("event_id") or "")
        if not event_id or not _first(events, event_id):
            log.info("ignored a retried or unidentified Slack event")
            return Response(status_code=200)
        if inner.get("type") == "app_mention" and not inner.get("bot_id"):
            _on_mention(services, workload, str(payload.get("team_id", "")), inner)
        return Response(status_code=200)

    @router.post("/interactions", summary="Slack interactivity: the vote buttons")
    async def interaction(request: Request) -> Response:
        await take_vote(services, await verified_body(request))
        return Response(status_code=200)

    return router


def _is_valid(verifier: SignatureVerifier, body: bytes, headers: Mapping[str, str]) -> bool:
    # the shapes first: a non-ASCII signature cannot be compared in constant time (TypeError)
    stamp = headers.get("x-slack-request-timestamp", "")
    if not (_SIGNATURE.fullmatch(headers.get("x-slack-signature", ""))
            and stamp.isascii() and stamp.isdigit()):
        return False
    try:
        return verifier.is_valid_request(body, dict(headers))
    except (ValueError, UnicodeDecodeError):  # a body that is not UTF-8
        return False


def _first(seen: SeenSet | SharedSeenSet, key: str,
           headers: Mapping[str, str] | None = None) -> bool:
    """Whether `key` is new (a signature: until its timestamp's window closes); 503 when the
    set is full of live keys, since forgetting one would let it be replayed."""
    expires = int(headers["x-slack-request-timestamp"]) + WINDOW_SECONDS if headers else None
    try:
        return seen.first(key, expires)
    except SeenSetFull:
        log.error("refused a Slack request: %d live signatures or events remembered", len(seen))
        raise HTTPException(503, "Too many requests right now; try again shortly.",
                            headers={"Retry-After": "60"}) from None


def _on_mention(services: Services, workload: Workload, team: str, event: dict) -> None:
    """Answer an app mention in its thread (through chat.postMessage), after the ack."""
    token = services.settings.slack_bot_token.get_secret_value()
    if not token:
        log.warning("cannot answer a Slack mention: VENDORBAN_SLACK_BOT_TOKEN is not set")
        return
    if services.limiter.hit(f"slack:{team}:{event.get('user', '')}"):
        log.info("dropped a Slack mention over the rate limit")
        return
    text = html.unescape(_MENTION.sub(" ", str(event.get("text", ""))))
    chat = parse_request(text)
    chat.public = True  # a thread reply is seen by the channel; help stays help
    chat.platform, chat.user = "slack", f"{team}:{event.get('user', '')}"
    target = {"channel": event.get("channel"),
              "thread_ts": event.get("thread_ts") or event.get("ts")}
    # the thread's root: every mention in a thread is a turn of the same conversation
    chat.conversation = conversation_id("slack", team, str(target["channel"] or ""),
                                        str(target["thread_ts"] or ""))
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
        await services.delivery.post(f"{api}/chat.postMessage", message | target, token=token)

    workload.spawn(job, answer, name="slack mention reply")

"""Slack over HTTP: signature checks, then the handling both transports share (slash commands
answered through response_url, Events API callbacks, vote buttons); Socket Mode is
`bot.server.slack_socket`."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping

from fastapi import APIRouter, HTTPException, Request, Response
from slack_sdk.signature import Clock, SignatureVerifier

from bot.chat.limits import SeenSet, SeenSetFull
from bot.chat.services import Services
from bot.chat.workload import Workload
from bot.server import render_slack
from bot.server.forms import parse_form
from bot.server.slack_events import SlackEvents
from bot.server.slack_votes import parse_vote, take_vote
from bot.server.slash import answer_slash_command

log = logging.getLogger(__name__)
WINDOW_SECONDS = 300  # Slack's replay window, either side of the request's timestamp
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


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
    events = SlackEvents(services, workload)
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
        return answer_command(services, workload, form)

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
        try:
            events.take(payload)
        except SeenSetFull:
            raise _full(len(events.ids)) from None
        return Response(status_code=200)

    @router.post("/interactions", summary="Slack interactivity: the vote buttons")
    async def interaction(request: Request) -> Response:
        await take_vote(services, parse_vote(await verified_body(request)))
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


def _first(seen: SeenSet, key: str, headers: Mapping[str, str] | None = None) -> bool:
    """Whether `key` is new (a signature: until its timestamp's window closes); 503 when the
    set is full of live keys, since forgetting one would let it be replayed."""
    expires = int(headers["x-slack-request-timestamp"]) + WINDOW_SECONDS if headers else None
    try:
        return seen.first(key, expires)
    except SeenSetFull:
        raise _full(len(seen)) from None


def _full(remembered: int) -> HTTPException:
    log.error("refused a Slack request: %d live signatures or events remembered", remembered)
    return HTTPException(503, "Too many requests right now; try again shortly.",
                         headers={"Retry-After": "60"})


def answer_command(services: Services, workload: Workload, form: Mapping[str, str]) -> dict:
    """The immediate reply to a slash command (its answer follows at its response_url)."""
    return answer_slash_command(services, workload, form, "slack", render_slack.render,
                                render_slack.searching, {"replace_original": False})

"""HTTP interactions transport: POST /discord/interactions, Ed25519-verified, deferred, then edited.

Discord signs every request; the signature is checked over the raw body before anything is parsed.
Commands are acknowledged at once (type 5) and answered later by editing the original response
through the interaction webhook, so the 3-second deadline never depends on retrieval.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from bot.chat.delivery import NOT_SENT
from bot.chat.dispatch import ChatRequest, rate_key, too_fast
from bot.chat.limits import BodyLimit, SeenSetFull
from bot.chat.services import Services
from bot.chat.workload import BUSY, RESTARTING, Job
from bot.core.assistant import Assistant
from bot.core.config import Settings
from bot.core.errors import ConfigError
from bot.core.usage import VOTE_UNKNOWN
from bot.discord_bot import commands, render, schema
from bot.discord_bot.schema import valid_options

log = logging.getLogger(__name__)
PATH = "/discord/interactions"
PING, COMMAND, COMPONENT, AUTOCOMPLETE = 1, 2, 3, 4  # interaction types
PONG, CHANNEL_MESSAGE, DEFERRED, UPDATE_MESSAGE, CHOICES = 1, 4, 5, 7, 8  # response types
EPHEMERAL = 64
MAX_SKEW_SECONDS = 300
AUTOCOMPLETE_SECONDS = 2.0
ATTEMPTS, RETRY_CAP_SECONDS, TIMEOUT_SECONDS, CONNECT_SECONDS = 3, 5.0, 30.0, 5.0
_TOKEN = re.compile(r"^[\w.\-]{1,500}$")  # interaction tokens and ids go into a URL path


def load_verify_key(public_key: str) -> VerifyKey:
    """The application's Ed25519 key; ConfigError when the setting is not 64 hex digits."""
    try:
        return VerifyKey(bytes.fromhex(public_key.strip()))
    except ValueError as exc:
        raise ConfigError("VENDORBAN_DISCORD_PUBLIC_KEY must be the application's public key "
                          "(64 hex digits, from the Developer Portal).") from exc


def verified(key: VerifyKey, body: bytes, signature: str, timestamp: str, now: float) -> bool:
    """Discord's signature over timestamp + raw body is valid and the timestamp is fresh."""
    fresh = timestamp.isascii() and timestamp.isdigit()  # isdigit alone lets "²" through
    if not fresh or abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return False
    try:
        key.verify(timestamp.encode() + body, bytes.fromhex(signature))
        return True
    except (BadSignatureError, ValueError):
        return False


SCALARS = (str, int, float, bool)  # option values; anything else is malformed, so left out


def options_of(data: dict) -> dict:
    """The command's options as name -> value (the commands have no sub-commands)."""
    found = data.get("options")
    if not isinstance(found, list):
        return {}
    return {o["name"]: o.get("value") for o in found if isinstance(o, dict)
            and isinstance(o.get("name"), str) and isinstance(o.get("value"), SCALARS)}


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def reply(text: str) -> dict:
    """An immediate ephemeral message response (cooldown, unknown command)."""
    return {"type": CHANNEL_MESSAGE, "data": {**render.render_error(text), "flags": EPHEMERAL}}


def _retry_after(response: httpx.Response, default: float) -> float:
    """Seconds Discord asks us to wait after a 429."""
    try:
        return float(response.json()["retry_after"])
    except (ValueError, KeyError, TypeError):
        return default


class Webhook:
    """Delivers answers through Discord's interaction webhook, with bounded retries."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url.rstrip("/")

    async def deliver(self, app_id: str, token: str, payload: dict, failed: bool,
                      private: bool) -> bool:
        """Edit the deferred response; an error after a public defer goes to the caller alone."""
        base = f"{self.api_url}/webhooks/{app_id}/{token}"
        timeout = httpx.Timeout(TIMEOUT_SECONDS, connect=min(CONNECT_SECONDS, TIMEOUT_SECONDS))
        async with httpx.AsyncClient(timeout=timeout) as client:
            if failed and not private:
                await self._send(client, "DELETE", f"{base}/messages/@original", None)
                return await self._send(client, "POST", base, {**payload, "flags": EPHEMERAL})
            return await self._send(client, "PATCH", f"{base}/messages/@original", payload)

    async def _send(self, client: httpx.AsyncClient, method: str, url: str,
                    body: dict | None) -> bool:
        # The URL holds the interaction token: log the method and status only.
        for attempt in range(ATTEMPTS):
            delay = 0.5 * 2**attempt
            try:
                response = await client.request(method, url, json=body)
                if response.status_code < 300:
                    return True
                if response.status_code == 429:
                    delay = _retry_after(response, delay)
                elif response.status_code < 500:
                    log.warning("discord webhook %s refused: HTTP %s", method, response.status_code)
                    return False
            except NOT_SENT as exc:  # the request never left: safe to send again
                log.warning("discord webhook %s failed: %s", method, type(exc).__name__)
            except httpx.HTTPError as exc:  # sent, maybe received: a second POST would duplicate
                log.warning("discord webhook %s may not have arrived (%s); not sent again",
                            method, type(exc).__name__)
                return False
            if attempt + 1 < ATTEMPTS:
                await asyncio.sleep(min(delay, RETRY_CAP_SECONDS))
        log.error("discord webhook %s gave up after %d attempts", method, ATTEMPTS)
        return False


def build_router(services: Services) -> APIRouter:
    """The interactions endpoint on the shared services (core pool, rate limiter, usage log);
    answers 404 when no public key is configured. Bodies are capped by the app's `BodyLimit`."""
    settings, assistant, work = services.settings, services.assistant, services.workload
    router = APIRouter()
    key = load_verify_key(settings.discord_public_key) if settings.discord_public_key else None
    if key is None:
        log.warning("Discord HTTP interactions are off: set VENDORBAN_DISCORD_PUBLIC_KEY to enable")
    declared = schema.declared()
    seen = services.seen_set("discord-interactions", MAX_SKEW_SECONDS, clock=services.clock)
    webhook = Webhook(settings.discord_api_url)

    async def answer(job: Job, app_id: str, token: str, request: ChatRequest) -> None:
        reply = await services.answer(job, request)
        payload, failed = commands.payload_of(reply)
        await webhook.deliver(app_id, token, payload, failed, not request.public)

    async def autocomplete(data: dict) -> dict:
        options = data.get("options") if isinstance(data.get("options"), list) else []
        focused = next((o for o in options if _dict(o).get("focused")), {})
        try:
            names = await asyncio.wait_for(services.run_side(
                commands.speaker_choices, assistant, str(focused.get("value") or "")),
                AUTOCOMPLETE_SECONDS) if data.get("name") == "quote" else []
        except Exception:  # an empty list beats a failed autocomplete
            log.warning("speaker autocomplete failed", exc_info=True)
            names = []
        return {"type": CHOICES, "data": {"choices": [{"name": n, "value": n} for n in names]}}

    def command(interaction: dict) -> dict | JSONResponse:
        data = _dict(interaction.get("data"))
        name = data.get("name")
        declaration = declared.get(name) if isinstance(name, str) else None
        options = valid_options(declaration, options_of(data)) if declaration else None
        if declaration is None or options is None:
            return reply("I do not know that command.")
        user = str(user_of(interaction).get("id", ""))
        wait = services.limiter.hit(rate_key("discord", "", user))
        if wait:
            return reply(too_fast(wait))
        app_id = str(interaction.get("application_id") or settings.discord_application_id)
        token = str(interaction.get("token") or "")
        if not (_TOKEN.match(app_id) and _TOKEN.match(token)):
            return JSONResponse({"error": "missing application id or token"}, status_code=400)
        job = work.admit()
        if job is None:
            return reply(RESTARTING if work.draining else BUSY)
        channel = _dict(interaction.get("channel"))
        chat = commands.chat_request(name, options, user, str(interaction.get("channel_id") or ""),
                                     commands.thread_conversation(interaction.get("guild_id"),
                                                                  interaction.get("channel_id"),
                                                                  channel.get("type")))
        work.spawn(job, lambda job: answer(job, app_id, token, chat),
                   name="discord interaction reply")
        private = commands.is_private(name, options)
        return {"type": DEFERRED, "data": {"flags": EPHEMERAL} if private else {}}

    async def vote(interaction: dict) -> dict | JSONResponse:
        """A vote button pressed: record it, then the message loses its buttons and thanks."""
        parsed = commands.parse_vote(_dict(interaction.get("data")).get("custom_id"))
        if parsed is None:
            return JSONResponse({"error": "unknown component"}, status_code=400)
        user = str(user_of(interaction).get("id", ""))
        wait = services.limiter.hit(rate_key("discord", "", user))
        if wait:
            return reply(too_fast(wait))
        try:  # the side pool: a vote must not queue behind questions being answered
            known = await services.run_side(commands.record_vote, services.usage, parsed[1],
                                            parsed[0], user)
        except Exception:
            log.warning("could not store a Discord vote", exc_info=True)
            return reply(commands.VOTE_NOT_STORED)
        if not known:
            return reply(VOTE_UNKNOWN)
        content = str(_dict(interaction.get("message")).get("content") or "")
        return {"type": UPDATE_MESSAGE,
                "data": {"content": commands.thanked(content, parsed[0]), "components": [],
                         "allowed_mentions": dict(render.NO_MENTIONS)}}

    def refuse_replay(interaction: dict, headers: Mapping[str, str]) -> JSONResponse | None:
        """401 for an interaction id already answered while its timestamp is acceptable (a
        signed request replayed); 503 when every remembered id is still live."""
        stamp = headers.get("x-signature-timestamp", "")
        key = interaction.get("id")
        key = key if isinstance(key, str) and key else headers.get("x-signature-ed25519", "")
        try:
            if seen.first(key, int(stamp) + MAX_SKEW_SECONDS):
                return None
        except SeenSetFull:
            return JSONResponse({"error": "too many requests"}, status_code=503,
                                headers={"Retry-After": "60"})
        log.warning("refused a replayed Discord interaction")
        return JSONResponse({"error": "replayed interaction"}, status_code=401)

    @router.post(PATH)
    async def interactions(request: Request):
        if key is None:
            log.info("Discord interaction refused: VENDORBAN_DISCORD_PUBLIC_KEY is not set")
            return JSONResponse({"error": "not found"}, status_code=404)
        body = await request.body()
        if not verified(key, body, request.headers.get("x-signature-ed25519", ""),
                        request.headers.get("x-signature-timestamp", ""), services.clock()):
            return JSONResponse({"error": "invalid request signature"}, status_code=401)
        try:
            interaction = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            interaction = None
        if not isinstance(interaction, dict):
            return JSONResponse({"error": "malformed interaction"}, status_code=400)
        refused = refuse_replay(interaction, request.headers)
        if refused is not None:
            return refused
        kind = interaction.get("type")
        if kind == PING:
            return {"type": PONG}
        if kind == AUTOCOMPLETE:
            return await autocomplete(_dict(interaction.get("data")))
        if kind == COMMAND:
            return command(interaction)
        if kind == COMPONENT:
            return await vote(interaction)
        return JSONResponse({"error": "unsupported interaction type"}, status_code=400)

    return router


def user_of(interaction: dict) -> dict:
    """The user who acted (in a guild, under `member`)."""
    return _dict(_dict(interaction.get("member")).get("user") or interaction.get("user"))


def build_app(settings: Settings, assistant: Assistant) -> FastAPI:
    """A FastAPI app serving only the interactions endpoint (`vendorban discord --http`), with
    the server's body cap."""
    services = Services(settings, assistant)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await services.aclose()

    app = FastAPI(title="vendorban Discord interactions", docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.services = services
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.include_router(build_router(services))
    return app

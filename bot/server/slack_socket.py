"""Slack over Socket Mode (slack-bolt): the bot opens a WebSocket to Slack with an app-level token,
so a team runs it without a public URL. Slash commands, app mentions, thread replies and the vote
buttons reach the same handling as the HTTP routes (`bot.server.slack`); here, each envelope is
acked at once over the socket (a slash command's ack carries the immediate reply) and answered
after, through response_url or chat.postMessage."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import urlsplit

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.chat.limits import SeenSetFull
from bot.chat.services import Services
from bot.chat.workload import Workload
from bot.core.config import Settings
from bot.core.errors import BotError, ConfigError
from bot.server.render_slack import VOTE_ACTIONS
from bot.server.slack import answer_command
from bot.server.slack_events import SlackEvents
from bot.server.slack_votes import MalformedInteraction, take_vote, vote_click

log = logging.getLogger(__name__)
ANY_COMMAND = re.compile(r"^/")  # whatever the command is called in the app's settings
VOTE = re.compile("^(" + "|".join(VOTE_ACTIONS) + ")$")
# slack_sdk and slack_bolt echo whole payloads at DEBUG and httpx logs each URL it posts to at
# INFO: a response_url is a bearer capability, so these stay at WARNING whatever the log level
LIBRARY_LOGGERS = ("slack_sdk", "slack_bolt", "httpx")
BOT_TOKEN_HELP = ("the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page; "
                  "set VENDORBAN_SLACK_BOT_TOKEN")
APP_TOKEN_HELP = ("an app-level token (xapp-...) with the connections:write scope, from the app's "
                  "Basic Information page (App-Level Tokens); set VENDORBAN_SLACK_APP_TOKEN")


def require_tokens(settings: Settings) -> tuple[str, str]:
    """(bot token, app-level token), or a ConfigError naming the one that is missing or wrong."""
    bot = settings.slack_bot_token.get_secret_value()
    app = settings.slack_app_token.get_secret_value()
    for value, prefix, help_text in ((bot, "xoxb-", BOT_TOKEN_HELP),
                                     (app, "xapp-", APP_TOKEN_HELP)):
        if not value:
            raise ConfigError(f"Socket Mode needs {help_text}.")
        if not value.startswith(prefix):  # never echo the value: it may be a real secret
            raise ConfigError(f"That token does not start with {prefix}: Socket Mode needs "
                              f"{help_text}.")
    return bot, app


def build_app(services: Services, workload: Workload, bot_token: str) -> AsyncApp:
    """A Bolt app whose listeners ack each envelope and hand it to the shared handling."""
    api = services.settings.slack_api_url.rstrip("/") + "/"
    app = AsyncApp(client=AsyncWebClient(token=bot_token, base_url=api), signing_secret="",
                   # the socket is authenticated by the app-level token; there is no HTTP here
                   request_verification_enabled=False, url_verification_enabled=False,
                   ssl_check_enabled=False, logger=logging.getLogger("slack_bolt.vendorban"))
    events = SlackEvents(services, workload)

    @app.command(ANY_COMMAND)
    async def slash_command(ack: AsyncAck, body: dict) -> None:  # bolt passes them by name
        form = command_form(body)
        if form is None:
            log.warning("ignored a Slack command without user_id or an http(s) response_url")
            await ack()
            return
        await ack(answer_command(services, workload, form))

    @app.event("app_mention")
    @app.event("message")
    async def event(ack: AsyncAck, body: dict) -> None:
        try:  # never blocks; before the ack, so a retry acked is a retry already turned away
            events.take(body)
        except SeenSetFull:
            log.error("dropped a Slack event: %d live event ids remembered", len(events.ids))
        await ack()

    @app.action(VOTE)
    async def vote(ack: AsyncAck, body: dict) -> None:
        await ack()
        try:
            click = vote_click(body)
        except MalformedInteraction as exc:
            log.warning("ignored a Slack vote: %s", exc)
            return
        await take_vote(services, click)  # records it, then posts the thank-you after

    return app


def command_form(body: Mapping[str, object]) -> dict[str, str] | None:
    """A slash command payload as the HTTP form would carry it; None without what it needs."""
    form = {k: v for k, v in body.items() if isinstance(v, str)}
    if not form.get("user_id") or urlsplit(form.get("response_url", "")).scheme not in (
            "http", "https"):
        return None
    return form


async def checked_handler(settings: Settings, services: Services, workload: Workload
                          ) -> tuple[AsyncSocketModeHandler, str]:
    """A Socket Mode handler whose two tokens Slack accepted, and the bot's name; ConfigError
    when one is refused (slack_sdk alone would retry a refused app-level token forever)."""
    bot_token, app_token = require_tokens(settings)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.setLevel(max(library.getEffectiveLevel(), logging.WARNING))
    app = build_app(services, workload, bot_token)
    handler = AsyncSocketModeHandler(app, app_token)
    try:
        who = await _checked(app.client.auth_test(), settings, "VENDORBAN_SLACK_BOT_TOKEN",
                             BOT_TOKEN_HELP)
        # a socket URL asked for only to check the token: its ticket is short-lived, so the
        # connection asks for a fresh one once the model is loaded
        await _checked(app.client.apps_connections_open(app_token=app_token), settings,
                       "VENDORBAN_SLACK_APP_TOKEN", APP_TOKEN_HELP)
    except BotError:
        await handler.close_async()
        raise
    return handler, f"{who.get('user')} in {who.get('team')}"


async def _checked(call: Awaitable[AsyncSlackResponse], settings: Settings, variable: str,
                   help_text: str) -> AsyncSlackResponse:
    try:
        return await call
    except SlackApiError as exc:
        raise ConfigError(f"Slack refused {variable} ({exc.response.get('error', 'error')}): "
                          f"Socket Mode needs {help_text}.") from None
    except Exception as exc:  # aiohttp's connection errors and timeouts
        raise BotError(f"Cannot reach Slack's Web API at {settings.slack_api_url} "
                       f"({type(exc).__name__}); check the network or VENDORBAN_SLACK_API_URL."
                       ) from None


async def run_socket(settings: Settings, services: Services, stop: asyncio.Event,
                     connected: asyncio.Event | None = None, workload: Workload | None = None,
                     warm_up: Callable[[], object] | None = None) -> None:
    """Check the tokens, run `warm_up` (in a thread), connect and serve Slack over Socket Mode
    until `stop` is set; then answer what is queued (or tell the askers to ask again) and close."""
    workload = workload or services.workload
    handler, who = await checked_handler(settings, services, workload)
    try:
        if warm_up is not None:  # a bad token is said before this wait, a loaded model after it
            await asyncio.to_thread(warm_up)
        await handler.connect_async()
        log.info("Slack Socket Mode: connected as %s", who)
        if connected is not None:
            connected.set()
        await stop.wait()
    finally:
        await workload.drain(settings.shutdown_grace_seconds)
        await handler.close_async()
        await services.delivery.aclose()

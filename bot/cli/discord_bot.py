"""`vendorban discord`: run the gateway bot, register its commands (--sync), or serve HTTP
interactions (--http)."""

from __future__ import annotations

import argparse
import asyncio
import logging
from typing import TYPE_CHECKING

from bot.cli.command import command
from bot.core.config import Settings
from bot.core.errors import ConfigError

if TYPE_CHECKING:
    from bot.chat.services import Services
    from bot.core.assistant import Assistant

log = logging.getLogger(__name__)


def _args(p: argparse.ArgumentParser) -> None:
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--sync", action="store_true",
                      help="register the slash commands with Discord, then exit (to "
                           "VENDORBAN_DISCORD_GUILD_ID when set, else globally)")
    mode.add_argument("--http", action="store_true",
                      help="serve POST /discord/interactions on VENDORBAN_HOST:VENDORBAN_PORT "
                           "instead of connecting to the gateway")


@command("discord", "run the Discord bot (gateway), --sync its commands or serve --http", _args)
def cmd_discord(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat.services import Services
    from bot.core.assistant import Assistant
    from bot.discord_bot.gateway import require_token, sync_commands

    assistant = Assistant(settings)
    if args.http:
        return serve_http(settings, assistant)
    require_token(settings)  # fail fast, before any connection, naming the setting to fill
    if args.sync:
        names, target = asyncio.run(sync_commands(Services(settings, assistant)))
        print(f"Registered {len(names)} command(s) ({', '.join(sorted(names))}) for {target}.")
        return 0
    warn_if_empty(assistant)
    asyncio.run(run_alone(Services(settings, assistant)))
    return 0


async def run_alone(services: Services) -> None:
    """The gateway bot on its own services; queued answers are drained when it stops."""
    from bot.discord_bot.gateway import run_gateway

    try:
        await run_gateway(services)
    finally:
        await services.aclose()


def serve_http(settings: Settings, assistant: Assistant) -> int:
    """Serve the interactions endpoint alone with uvicorn."""
    import uvicorn

    from bot.discord_bot.http import PATH, build_app

    if not settings.discord_public_key:
        raise ConfigError("No Discord public key: set VENDORBAN_DISCORD_PUBLIC_KEY (the "
                          "`discord_public_key` setting, from the Developer Portal).")
    warn_if_empty(assistant)
    print(f"Serving Discord interactions on http://{settings.host}:{settings.port}{PATH}")
    uvicorn.run(build_app(settings, assistant), host=settings.host, port=settings.port,
                log_level="warning")
    return 0


def warn_if_empty(assistant: Assistant) -> None:
    """Say at start-up that answers will fail until something is ingested."""
    if assistant.store.count() == 0:
        log.warning("The index is empty: run `vendorban ingest corpus/` before asking questions.")

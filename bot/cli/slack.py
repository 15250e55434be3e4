"""`vendorban slack --socket`: the Slack bot over Socket Mode, for a team without a public URL
(over HTTP, Slack is served by `vendorban serve`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from bot.cli.command import command
from bot.cli.index import ensure_corpus
from bot.core.config import Settings
from bot.core.errors import ConfigError, IndexUnavailableError

if TYPE_CHECKING:
    from bot.chat.services import Services

log = logging.getLogger(__name__)


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--socket", action="store_true",
                   help="connect to Slack over Socket Mode (needs VENDORBAN_SLACK_APP_TOKEN, "
                        "xapp-..., and VENDORBAN_SLACK_BOT_TOKEN, xoxb-...)")


@command("slack", "run the Slack bot over Socket Mode (--socket): no public URL needed", _args)
def cmd_slack(args: argparse.Namespace, settings: Settings) -> int:
    from bot.chat.services import Services
    from bot.core.assistant import Assistant
    from bot.server.slack_socket import require_tokens

    if not args.socket:
        raise ConfigError("Pass --socket to connect over Socket Mode; over HTTP, Slack is served "
                          "by `vendorban serve` (with VENDORBAN_SLACK_SIGNING_SECRET set).")
    require_tokens(settings)  # before the model loads: a missing token is said at once
    if not args.verbose:  # connection and shutdown lines are worth seeing
        logging.getLogger("bot").setLevel(logging.INFO)
    services = Services(settings, Assistant(settings))
    try:
        asyncio.run(_serve(settings, services))
    finally:
        services.executor.shutdown(wait=False, cancel_futures=True)
    return 0


async def _serve(settings: Settings, services: Services) -> None:
    from bot.server.app import warm_up
    from bot.server.slack_socket import run_socket

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    def prepare() -> None:
        """Once Slack has accepted the tokens: the index filled if empty, the model loaded, so
        the first question need not wait."""
        try:
            ensure_corpus(settings)
        except IndexUnavailableError as exc:  # a Chroma server still starting
            log.warning("%s Connecting anyway; questions fail until it answers.", exc)
        warm_up(services)

    connected = asyncio.Event()
    task = asyncio.create_task(run_socket(settings, services, stop, connected, warm_up=prepare))
    waiting = asyncio.create_task(connected.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if connected.is_set():
        print("vendorban is connected to Slack over Socket Mode (Ctrl-C stops it).", flush=True)
    waiting.cancel()
    await task  # raises what stopped it, a refused token for one

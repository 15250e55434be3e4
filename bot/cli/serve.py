"""`vendorban serve`: ingest the corpus if needed, then run the HTTP server and the Discord bot."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from typing import TYPE_CHECKING

from bot.chat.workload import Workload
from bot.cli.command import command
from bot.cli.index import ensure_corpus
from bot.core.config import Settings
from bot.core.errors import ConfigError, IndexUnavailableError

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="bind address (default: the host setting, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: the port setting, 8000; 0 = any free)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes answering on the one port, each with its own model (default "
                        "1); rate limits, replay checks, conversations and feedback are shared "
                        "through the data directory")


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, so the URLs printed are the real ones (port 0 picks a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"Cannot listen on {host}:{port} ({exc.strerror}); "
                          "set VENDORBAN_PORT or pass --port.") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def graceful_server(config: uvicorn.Config, workload: Workload, grace: float) -> uvicorn.Server:
    """uvicorn's server that, on SIGTERM, stops accepting, drains the workload (answers what it
    can within `grace` seconds, tells every other acknowledged request to ask again), and only
    then closes the open connections and runs the app's shutdown."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            await workload.drain(grace)
            await super().shutdown(sockets)

    return Server(config)


def local_urls(host: str, port: int, settings: Settings) -> list[str]:
    """The lines printed at start-up: where the page, the API and each webhook live."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base = f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"
    lines = [f"Web page:   {base}/", f"JSON API:   {base}/api/ask  (docs: {base}/docs)",
             f"Probes:     {base}/healthz  {base}/readyz"]
    if settings.slack_signing_secret.get_secret_value():
        lines.append(f"Slack:      {base}/slack/commands  {base}/slack/events")
    if settings.mattermost_token.get_secret_value():
        lines.append(f"Mattermost: {base}/mattermost/commands")
    return lines


@command("serve", "run the web page, JSON API, Slack/Mattermost webhooks and Discord bot",
         _serve_args)
def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from bot.core.assistant import Assistant
    from bot.server.app import create_app

    if not args.verbose:  # start-up lines (which front ends are on) are worth seeing
        logging.getLogger("bot").setLevel(logging.INFO)
    if args.workers < 1:
        raise ConfigError("--workers must be at least 1.")
    try:
        ensure_corpus(settings)
    except IndexUnavailableError as exc:  # a Chroma server still starting: connect when it is up
        log.warning("%s Serving anyway; /readyz reports not ready until it answers.", exc)
    sock = bind(args.host or settings.host, settings.port if args.port is None else args.port)
    host, port = sock.getsockname()[:2]
    if args.workers > 1:
        return _serve_workers(args, settings, sock)
    app = create_app(settings, Assistant(settings), shared=True)
    print("vendorban is serving:", *local_urls(host, port, settings), sep="\n  ")
    sys.stdout.flush()
    config = uvicorn.Config(app, log_level="info" if args.verbose else "warning",
                            proxy_headers=False, timeout_graceful_shutdown=10)
    graceful_server(config, app.state.workload, settings.shutdown_grace_seconds).run(
        sockets=[sock])
    return 0


def _serve_workers(args: argparse.Namespace, settings: Settings, sock: socket.socket) -> int:
    """N uvicorn worker processes on the one listening socket, each building its app with
    `bot.server.app.worker_app` from these settings; uvicorn's supervisor restarts a worker
    that dies and, on SIGTERM or Ctrl-C, stops them all (each finishes its queued answers in
    its app's shutdown, as one process does)."""
    import os

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from bot.server.app import worker_settings

    os.environ.update(worker_settings(settings, args.verbose))
    host, port = sock.getsockname()[:2]
    print(f"vendorban is serving ({args.workers} workers):", *local_urls(host, port, settings),
          sep="\n  ")
    sys.stdout.flush()
    config = uvicorn.Config("bot.server.app:worker_app", factory=True, workers=args.workers,
                            log_level="info" if args.verbose else "warning", proxy_headers=False,
                            timeout_graceful_shutdown=10)
    Multiprocess(config, sockets=[sock]).run()
    return 0

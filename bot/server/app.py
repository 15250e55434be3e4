"""The one HTTP server: web page, JSON API, Slack and Mattermost webhooks (and Discord's hooks)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import SecretStr
from starlette.exceptions import HTTPException

from bot.chat.limits import BodyLimit
from bot.chat.services import Services
from bot.core.assistant import Assistant
from bot.core.config import Settings
from bot.core.embeddings import get_embedder
from bot.core.errors import BotError, EmptyIndexError, IndexUnavailableError, InputError
from bot.server import api, mattermost, pages, slack
from bot.server.crashes import CrashGuard

log = logging.getLogger(__name__)
WARM_UP_RETRY_MAX = 30.0  # seconds between attempts to reach an index that was unavailable
WORKER_SETTINGS = "VENDORBAN_SERVE_WORKER_SETTINGS"  # the settings `serve --workers` hands down
GATEWAY_LOCK = "discord-gateway.lock"  # held by the one worker that runs the Discord gateway
STATUS_OF_ERROR: tuple[tuple[type[BotError], int], ...] = (
    (InputError, 400), (EmptyIndexError, 503), (IndexUnavailableError, 503),
)


def create_app(settings: Settings, assistant: Assistant | None = None,
               clock: Callable[[], float] = time.time, shared: bool = False) -> FastAPI:
    """The server for these settings; front ends without a configured secret stay unmounted.
    `shared`: rate limits and replay checks in the data directory, common to every process
    serving it (what `vendorban serve` uses), instead of this process's memory."""
    services = Services(settings, assistant or Assistant(settings), clock=clock, shared=shared)
    workload = services.workload
    app = FastAPI(title="vendorban", version="0.1.0", lifespan=_lifespan,
                  description="Cited answers about government bans on telecom vendors.")
    app.state.services = services
    app.state.workload = workload
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CrashGuard)  # outside BodyLimit: catches whatever the app lets through
    _install_error_handlers(app)
    app.include_router(pages.build_router(services))
    app.include_router(api.build_router(services, workload))
    if settings.slack_signing_secret.get_secret_value():
        app.include_router(slack.build_router(services, workload))
    if settings.mattermost_token.get_secret_value():
        app.include_router(mattermost.build_router(services, workload))
    mount_discord_http(app, services)
    return app


def worker_settings(settings: Settings, verbose: bool = False) -> dict[str, str]:
    """Environment for `worker_app` in the processes of `vendorban serve --workers N`: these
    settings exactly (command-line overrides and secrets included; never logged)."""
    values = {name: getattr(settings, name) for name in Settings.model_fields}
    values = {k: v.get_secret_value() if isinstance(v, SecretStr) else v
              for k, v in values.items()}
    return {WORKER_SETTINGS: json.dumps({"settings": values, "verbose": verbose}, default=str)}


def worker_app() -> FastAPI:
    """The app of one `vendorban serve --workers N` process (uvicorn's app factory): its own
    model and index handles; rate limits, replay checks, conversations and feedback are in the
    data directory, shared with the other workers."""
    handed = json.loads(os.environ[WORKER_SETTINGS])
    logging.basicConfig(level=logging.DEBUG if handed["verbose"] else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not handed["verbose"]:
        logging.getLogger("bot").setLevel(logging.INFO)
    settings = Settings(_env_file=None, **handed["settings"])
    log.info("worker %d starting", os.getpid())
    return create_app(settings, shared=True)


def frontends(settings: Settings) -> dict[str, str]:
    """Which chat front ends are on, and why the others are off (no secret is ever shown)."""
    def state(secret: str, variable: str, effect: str = "its routes answer 404") -> str:
        return "on" if secret else f"off ({variable} is not set; {effect})"

    return {"slack": state(settings.slack_signing_secret.get_secret_value(),
                           "VENDORBAN_SLACK_SIGNING_SECRET"),
            "mattermost": state(settings.mattermost_token.get_secret_value(),
                                "VENDORBAN_MATTERMOST_TOKEN"),
            "discord": state(settings.discord_token.get_secret_value(), "VENDORBAN_DISCORD_TOKEN",
                             "the gateway bot is not started")}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: Services = app.state.services
    for name, state in frontends(services.settings).items():
        log.info("%s front end: %s", name, state)
    settings = services.settings
    slack_on = bool(settings.slack_signing_secret.get_secret_value())
    if slack_on and not settings.slack_bot_token.get_secret_value():
        log.info("slack mentions: not answered (VENDORBAN_SLACK_BOT_TOKEN is not set)")
    if not settings.api_token.get_secret_value():
        log.info("JSON API: open (VENDORBAN_API_TOKEN is not set)")
    warming = asyncio.create_task(asyncio.to_thread(warm_up, services), name="warm-up")
    gateway = start_discord(services)
    try:
        yield
    finally:
        # queued answers go out (or "ask again" replies) before the gateway and client close
        await services.workload.drain(settings.shutdown_grace_seconds)
        for task in (warming, gateway):
            if task is not None:
                task.cancel()
        await services.aclose()


def warm_up(services: Services) -> None:
    """Load the model, open the index and build the BM25 side index before the first question
    (readyz waits for this: at 100k chunks the side index takes about 25 s to build from Chroma,
    about 1 s to load from its cache in the data directory). An index that cannot be reached yet
    (a Chroma server still starting) is tried again in the background; /readyz says why."""
    try:
        get_embedder(services.settings).embed(["warm-up"])
        services.model_ready.set()
        if not _open_index(services):
            threading.Thread(target=_keep_opening, args=(services,), name="warm-up-retry",
                             daemon=True).start()
    except BotError as exc:
        services.startup_problem = str(exc)
        log.error("not ready: %s", exc)
    except Exception:  # a crash in this thread must reach the log, not vanish
        services.startup_problem = "the server could not start its index or model; see the log"
        log.exception("warm-up failed")
    finally:
        services.warmed.set()


def _open_index(services: Services) -> bool:
    """Warm the index; False while it cannot be reached."""
    try:
        services.assistant.warm_up()
    except IndexUnavailableError as exc:
        services.startup_problem = str(exc)
        log.warning("not ready yet: %s", exc)
        return False
    services.startup_problem = ""
    outdated = services.assistant.store.outdated_layout()
    if outdated:
        log.warning("the index has an older layout (%s): `vendorban reindex` rebuilds it "
                    "without embedding anything again", "; ".join(outdated))
    return True


def _keep_opening(services: Services) -> None:
    """Try the index again, less often each time, until it answers (a daemon thread: it never
    holds up shutdown)."""
    delay = 1.0
    try:
        while not _open_index(services):
            time.sleep(delay)  # a pause between attempts, not a wait for an event
            delay = min(2 * delay, WARM_UP_RETRY_MAX)
    except Exception:  # not a connection failure: the first question will meet it too
        log.exception("warm-up failed")
        return
    log.info("the index is reachable now")


# ---- Discord in the same process: the gateway bot when a token is set, HTTP interactions always
# ---- mounted (the router itself answers 404 until a public key is configured).
def start_discord(services: Services) -> asyncio.Task | None:
    """With a Discord token, run `bot.discord_bot.gateway.run_gateway` as a background task on
    the server's services (its pool, rate limiter and usage log)."""
    if not services.settings.discord_token.get_secret_value():
        return None
    if not _gateway_lock(services):
        log.info("discord gateway: run by another worker of this data directory")
        return None
    from bot.discord_bot.gateway import run_gateway

    task = asyncio.create_task(run_gateway(services), name="discord")
    task.add_done_callback(_log_gateway_end)
    return task


def _gateway_lock(services: Services) -> bool:
    """Whether this process holds the data directory's gateway lock (taken now if free): with
    several workers, one connects to Discord; another takes over when its process ends."""
    import fcntl

    path = services.settings.data_dir / GATEWAY_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        return False
    services.held.append(handle)  # released when the process ends
    return True


def _log_gateway_end(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the Discord gateway stopped", exc_info=task.exception())


def mount_discord_http(app: FastAPI, services: Services) -> None:
    """Mount Discord's HTTP interactions endpoint (`POST /discord/interactions`)."""
    from bot.discord_bot.http import build_router

    app.include_router(build_router(services))


# ---- errors at the HTTP edge: JSON bodies {"error": ...}, never a traceback or a secret
def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                    for e in exc.errors()[:5]]
        return JSONResponse({"error": "Malformed request.", "problems": problems}, 400)

    @app.exception_handler(BotError)
    async def bot_error(request: Request, exc: BotError) -> JSONResponse:
        status = next((code for kind, code in STATUS_OF_ERROR if isinstance(exc, kind)), 500)
        return JSONResponse({"error": str(exc)}, status)
    # any other exception: CrashGuard (bot.server.crashes) logs it and answers 500

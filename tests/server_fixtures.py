"""The `serve`, `receiver` and `discord_api` fixtures of the server tests (loaded with
`pytest_plugins`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from pydantic import SecretStr

from tests.discord_helpers import FakeDiscordAPI
from tests.server_support import (
    MATTERMOST_TOKEN,
    SLACK_BOT_TOKEN,
    SLACK_SECRET,
    LiveServer,
    Receiver,
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver()
    yield got
    got.close()


@pytest.fixture
def serve(corpus_index, receiver) -> Iterator[Callable[..., LiveServer]]:
    """Start the app on the indexed corpus: serve(**setting_overrides, clock=...) -> LiveServer."""
    from bot.server.app import create_app

    base, assistant = corpus_index
    started: list[LiveServer] = []

    def start(clock: Callable[[], float] = time.time, backoff: float = 0.05,
              **overrides: object) -> LiveServer:
        values = {"slack_signing_secret": SecretStr(SLACK_SECRET),
                  "slack_bot_token": SecretStr(SLACK_BOT_TOKEN), "slack_api_url": receiver.url,
                  "mattermost_token": SecretStr(MATTERMOST_TOKEN), "rate_limit_per_minute": 1000}
        values |= {k: SecretStr(v) if k.endswith(("_token", "_secret")) and isinstance(v, str)
                   else v for k, v in overrides.items()}
        app = create_app(base.model_copy(update=values), assistant, clock=clock)
        app.state.services.delivery.backoff = backoff  # retries, but fast
        live = LiveServer(app)
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()


@pytest.fixture
def discord_api() -> Iterator[FakeDiscordAPI]:
    """A fake Discord REST API on 127.0.0.1 (follow-up webhooks, channel messages)."""
    server = FakeDiscordAPI()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()

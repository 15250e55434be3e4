"""The Discord hook of the server: gateway started and HTTP router mounted when the module exists.

bot/discord_bot/ is built on another branch; here it is stood in for by modules in sys.modules.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import sys
import threading
import types

import httpx
import pytest
from fastapi import APIRouter

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures


def fake_module(name: str, **attrs: object) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attrs)
    return module


@pytest.fixture
def discord_package(monkeypatch: pytest.MonkeyPatch) -> dict:
    seen: dict = {"started": threading.Event(), "cancelled": threading.Event()}

    async def run_gateway(settings, assistant) -> None:
        seen["args"] = (settings, assistant)
        seen["started"].set()
        try:
            await asyncio.Event().wait()  # a gateway runs until the server stops
        except asyncio.CancelledError:
            seen["cancelled"].set()
            raise

    def build_router(settings, assistant) -> APIRouter:
        router = APIRouter()

        @router.post("/discord/interactions")
        async def interactions() -> dict:
            return {"type": 1}

        return router

    monkeypatch.setitem(sys.modules, "bot.discord_bot", fake_module("bot.discord_bot"))
    monkeypatch.setitem(sys.modules, "bot.discord_bot.gateway",
                        fake_module("bot.discord_bot.gateway", run_gateway=run_gateway))
    monkeypatch.setitem(sys.modules, "bot.discord_bot.http",
                        fake_module("bot.discord_bot.http", build_router=build_router))
    return seen


def test_with_a_token_the_gateway_runs_in_the_server_process_and_stops_with_it(serve,
                                                                               discord_package):
    live = serve(discord_token="discord-test-token")
    assert discord_package["started"].wait(10)
    settings, assistant = discord_package["args"]
    assert settings.discord_token.get_secret_value() == "discord-test-token"
    assert assistant is live.services.assistant
    assert httpx.post(f"{live.url}/discord/interactions").json() == {"type": 1}
    live.stop()
    assert discord_package["cancelled"].wait(10)


def test_without_a_token_the_gateway_is_not_started(serve, discord_package):
    live = serve()
    assert httpx.get(f"{live.url}/healthz").status_code == 200
    assert not discord_package["started"].wait(0.3)


def test_without_the_discord_package_the_server_runs_alone(serve, caplog, monkeypatch):
    for name in ("bot.discord_bot", "bot.discord_bot.gateway", "bot.discord_bot.http"):
        monkeypatch.setitem(sys.modules, name, None)  # absent, whatever the environment holds
    live = serve(discord_token="discord-test-token")
    assert httpx.get(f"{live.url}/healthz").status_code == 200
    assert httpx.post(f"{live.url}/discord/interactions").status_code == 404
    assert "bot.discord_bot.gateway is missing" in caplog.text

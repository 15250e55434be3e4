"""Discord inside `vendorban serve`: the gateway runs in the server process when a token is set
(stood in for by a module in sys.modules: the real gateway needs Discord), and the real HTTP
interactions endpoint is mounted on the server."""

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

    async def run_gateway(settings, assistant, workload=None, usage=None) -> None:
        seen["args"] = (settings, assistant)
        seen["started"].set()
        try:
            await asyncio.Event().wait()  # a gateway runs until the server stops
        except asyncio.CancelledError:
            seen["cancelled"].set()
            raise

    def build_router(settings, assistant, workload=None, clock=None, usage=None,
                     seen_set=None) -> APIRouter:
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


def test_the_real_discord_http_endpoint_is_served_by_serve(serve):
    import json
    import time

    from nacl.signing import SigningKey

    key = SigningKey.generate()
    live = serve(discord_public_key=key.verify_key.encode().hex())
    body = json.dumps({"type": 1, "id": "1", "application_id": "2", "token": "t"}).encode()
    stamp = str(int(time.time()))
    signature = key.sign(stamp.encode() + body).signature.hex()
    headers = {"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp,
               "Content-Type": "application/json"}
    assert httpx.post(f"{live.url}/discord/interactions", content=body,
                      headers=headers).json() == {"type": 1}
    headers["X-Signature-Ed25519"] = "00" * 64
    assert httpx.post(f"{live.url}/discord/interactions", content=body,
                      headers=headers).status_code == 401


def test_without_a_public_key_discord_http_is_off(serve):
    live = serve()
    assert httpx.post(f"{live.url}/discord/interactions", content=b"{}").status_code == 404

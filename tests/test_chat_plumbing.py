"""One plumbing for every chat front end: with Discord on in `vendorban serve`, Discord's core
work runs on the server's bounded pool and its users share the server's rate limiter."""

from __future__ import annotations

import json
import threading
import time

import httpx
from nacl.signing import SigningKey

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures


def signed_post(url: str, key: SigningKey, interaction: dict) -> httpx.Response:
    body = json.dumps(interaction).encode()
    stamp = str(int(time.time()))
    return httpx.post(url, content=body, timeout=10, headers={
        "X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex(),
        "X-Signature-Timestamp": stamp, "Content-Type": "application/json"})


def ask(number: int, user: str = "9") -> dict:
    return {"type": 2, "id": f"70{number}", "application_id": "5", "token": f"tok-plumb-{number}",
            "data": {"name": "ask", "options": [{"name": "question", "type": 3,
                                                 "value": "What did Suga say?"}]},
            "member": {"user": {"id": user}}}


def test_discord_in_the_server_answers_on_its_pool_under_its_rate_limit(serve, discord_api,
                                                                         monkeypatch):
    key = SigningKey.generate()
    live = serve(discord_public_key=key.verify_key.encode().hex(),
                 discord_api_url=discord_api.url, rate_limit_per_minute=1)
    threads: list[str] = []
    real_ask = live.services.assistant.ask

    def spy(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(live.services.assistant, "ask", spy)
    url = f"{live.url}/discord/interactions"
    assert signed_post(url, key, ask(1)).json()["type"] == 5
    assert discord_api.requests_for("tok-plumb-1", 1)
    assert threads and threads[0].startswith("vendorban-core")
    refused = signed_post(url, key, ask(2)).json()  # same user, same minute
    assert refused["type"] == 4 and refused["data"]["flags"] == 64
    assert "try again in" in refused["data"]["content"]
    assert live.services.limiter.waiting("discord::9") > 0  # the server's own limiter
    assert signed_post(url, key, ask(3, user="10")).json()["type"] == 5  # per user
    live.wait_idle()


def test_the_discord_http_app_alone_caps_bodies_like_the_server(corpus_index):
    from fastapi.testclient import TestClient

    from bot.chat.limits import BodyLimit
    from bot.discord_bot.http import build_app

    settings = corpus_index[0].model_copy(update={"max_body_bytes": 1000,
                                                  "discord_public_key": "00" * 32})
    app = build_app(settings, corpus_index[1])
    assert any(m.cls is BodyLimit for m in app.user_middleware)
    response = TestClient(app).post("/discord/interactions", content=b"x" * 2000)
    assert response.status_code == 413

"""HTTP interactions: a real uvicorn server, real Ed25519 signatures, a local stand-in for
Discord."""

from __future__ import annotations

import itertools
import json
import logging
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from nacl.signing import SigningKey

from bot.chat.services import Services
from bot.discord_bot.http import build_app, build_router
from tests.discord_helpers import FakeDiscordAPI, limit_violations

APP_ID = "123456789012345678"
SUGA_WORDS = "Cybersecurity is becoming an important issue in Japan"
_ids = itertools.count(1000)


@pytest.fixture(scope="module")
def discord_api():
    server = FakeDiscordAPI()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey.generate()


def serve(app) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start uvicorn on a free 127.0.0.1 port in a thread; wait until it accepts requests."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    return server, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def endpoint(corpus_index, discord_api, signing_key):
    settings = corpus_index[0].model_copy(update={
        "discord_public_key": signing_key.verify_key.encode().hex(),
        "discord_api_url": discord_api.url, "rate_limit_per_minute": 1})
    server, thread, base = serve(build_app(settings, corpus_index[1]))
    yield base + "/discord/interactions"
    server.should_exit = True
    thread.join(10)


def post(url: str, key: SigningKey, body: bytes, timestamp: int | None = None,
         signature: str | None = None) -> httpx.Response:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    sig = signature or key.sign(stamp.encode() + body).signature.hex()
    return httpx.post(url, content=body, timeout=30, headers={
        "content-type": "application/json", "x-signature-ed25519": sig,
        "x-signature-timestamp": stamp})


def interaction(name: str, options: dict, kind: int = 2, token: str | None = None) -> dict:
    opts = [{"name": k, "type": 3, "value": v} for k, v in options.items()]
    return {"type": kind, "id": str(next(_ids)), "application_id": APP_ID,
            "token": token or f"tok-{next(_ids)}", "data": {"name": name, "options": opts},
            "member": {"user": {"id": str(next(_ids))}}}


def body_of(data: dict) -> bytes:
    return json.dumps(data).encode()


def test_a_signed_ping_gets_a_pong(endpoint, signing_key):
    response = post(endpoint, signing_key, body_of({"type": 1, "id": "1"}))
    assert response.status_code == 200 and response.json() == {"type": 1}


def test_ask_is_deferred_then_the_cited_answer_edits_the_original(endpoint, signing_key,
                                                                  discord_api):
    data = interaction("ask", {"question": "What did Suga say?"})
    response = post(endpoint, signing_key, body_of(data))
    assert response.json() == {"type": 5, "data": {}}
    [edit] = discord_api.requests_for(data["token"], 1)
    assert edit["method"] == "PATCH"
    assert edit["path"] == f"/api/v10/webhooks/{APP_ID}/{data['token']}/messages/@original"
    payload = edit["json"]
    assert limit_violations(payload) == [] and "flags" not in payload
    embed = payload["embeds"][0]
    assert SUGA_WORDS in embed["description"]
    assert any("](https://www.japantimes.co.jp/" in f["value"] for f in embed["fields"])


def test_private_ask_is_deferred_ephemeral(endpoint, signing_key, discord_api):
    data = interaction("ask", {"question": "What did BT announce?", "private": True})
    assert post(endpoint, signing_key, body_of(data)).json() == {"type": 5, "data": {"flags": 64}}
    [edit] = discord_api.requests_for(data["token"], 1)
    assert edit["method"] == "PATCH" and "3G and 4G" in edit["json"]["embeds"][0]["description"]


def test_an_error_after_a_public_defer_reaches_only_the_caller(endpoint, signing_key,
                                                              discord_api):
    data = interaction("ask", {"question": "   "})
    assert post(endpoint, signing_key, body_of(data)).json()["type"] == 5
    delete, followup = discord_api.requests_for(data["token"], 2)
    assert delete["method"] == "DELETE" and delete["path"].endswith("/messages/@original")
    assert followup["method"] == "POST" and followup["json"]["flags"] == 64
    assert "Please ask a question" in followup["json"]["content"]


def test_a_failed_edit_is_retried(endpoint, signing_key, discord_api):
    discord_api.fail_next = 1
    data = interaction("about", {})
    assert post(endpoint, signing_key, body_of(data)).json() == {"type": 5, "data": {"flags": 64}}
    first, second = discord_api.requests_for(data["token"], 2)
    assert (first["status"], second["status"]) == (500, 200)
    assert first["json"] == second["json"] and second["json"]["embeds"][0]["fields"]


def test_a_rate_limited_edit_waits_and_is_retried(endpoint, signing_key, discord_api):
    discord_api.fail_status, discord_api.fail_next = 429, 2
    try:
        data = interaction("about", {})
        post(endpoint, signing_key, body_of(data))
        attempts = discord_api.requests_for(data["token"], 3)
    finally:
        discord_api.fail_status, discord_api.fail_next = 500, 0
    assert [a["status"] for a in attempts] == [429, 429, 200]


def test_speaker_autocomplete_answers_with_choices(endpoint, signing_key):
    data = interaction("quote", {}, kind=4)
    data["data"]["options"] = [{"name": "speaker", "type": 3, "value": "suga", "focused": True}]
    response = post(endpoint, signing_key, body_of(data)).json()
    assert response == {"type": 8, "data": {"choices": [{"name": "Yoshihide Suga",
                                                         "value": "Yoshihide Suga"}]}}


def test_cooldown_answers_at_once_and_privately(endpoint, signing_key, discord_api):
    first = interaction("quote", {"speaker": "Suga"})
    second = interaction("ask", {"question": "What did BT announce?"})
    second["member"] = first["member"]
    assert post(endpoint, signing_key, body_of(first)).json()["type"] == 5
    response = post(endpoint, signing_key, body_of(second)).json()
    assert response["type"] == 4 and response["data"]["flags"] == 64
    assert "try again in" in response["data"]["content"]
    assert len(discord_api.requests_for(first["token"], 1)) == 1


def test_unknown_commands_are_answered_privately(endpoint, signing_key):
    response = post(endpoint, signing_key, body_of(interaction("timeline", {}))).json()
    assert response["type"] == 4 and response["data"]["flags"] == 64


@pytest.mark.parametrize("case", ["other key", "tampered body", "no headers", "not hex"])
def test_bad_signatures_are_refused(endpoint, signing_key, case):
    body = body_of({"type": 1})
    if case == "other key":
        response = post(endpoint, SigningKey.generate(), body)
    elif case == "tampered body":
        stamp = str(int(time.time()))
        signature = signing_key.sign(stamp.encode() + body).signature.hex()
        response = post(endpoint, signing_key, body + b" ", int(stamp), signature)
    elif case == "not hex":
        response = post(endpoint, signing_key, body, signature="zz" * 64)
    else:
        response = httpx.post(endpoint, content=body)
    assert response.status_code == 401


def test_stale_timestamps_are_refused_even_when_signed(endpoint, signing_key):
    body = body_of({"type": 1})
    assert post(endpoint, signing_key, body, timestamp=int(time.time()) - 600).status_code == 401
    assert post(endpoint, signing_key, body, timestamp=int(time.time()) + 600).status_code == 401


def test_malformed_bodies_are_refused(endpoint, signing_key):
    assert post(endpoint, signing_key, b"{not json").status_code == 400
    assert post(endpoint, signing_key, b"[1, 2]").status_code == 400
    assert post(endpoint, signing_key, body_of({"type": 99})).status_code == 400
    unsigned = httpx.post(endpoint, content=b"{not json", headers={
        "x-signature-ed25519": "00" * 64, "x-signature-timestamp": str(int(time.time()))})
    assert unsigned.status_code == 401  # the signature is checked before the body is parsed


def test_oversized_bodies_are_refused(endpoint, signing_key):
    body = body_of({"type": 1, "pad": "x" * 70_000})
    assert post(endpoint, signing_key, body).status_code == 413


def test_the_router_is_off_without_a_public_key(settings, assistant, caplog):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    app = FastAPI()
    with caplog.at_level(logging.INFO):
        app.include_router(build_router(Services(settings, assistant)))
        response = TestClient(app).post("/discord/interactions", content=b'{"type": 1}')
    assert response.status_code == 404
    assert any("VENDORBAN_DISCORD_PUBLIC_KEY" in r.getMessage() for r in caplog.records)


def answered_with_buttons(endpoint, signing_key, discord_api) -> tuple[dict, str]:
    """An /ask answer as edited into the original, and the answer_id its buttons carry."""
    data = interaction("ask", {"question": "What did Suga say?"})
    assert post(endpoint, signing_key, body_of(data)).json()["type"] == 5
    [edit] = discord_api.requests_for(data["token"], 1)
    [row] = edit["json"]["components"]
    ids = [button["custom_id"] for button in row["components"]]
    answer_id = ids[0].removeprefix("vote:up:")
    assert ids == [f"vote:up:{answer_id}", f"vote:down:{answer_id}"]
    return edit["json"], answer_id


def press(custom_id: str, message: dict | None = None) -> dict:
    return {"type": 3, "id": str(next(_ids)), "application_id": APP_ID,
            "token": f"tok-{next(_ids)}", "member": {"user": {"id": str(next(_ids))}},
            "data": {"custom_id": custom_id, "component_type": 2},
            "message": {"id": "900", "content": "", **(message or {})}}


def votes_on(corpus_index, answer_id: str) -> list[str]:
    from bot.core.usage import UsageLog

    return [v.vote for v in UsageLog(corpus_index[0]).votes() if v.answer_id == answer_id]


def test_a_recorded_answer_carries_vote_buttons_and_a_press_updates_the_message(
        endpoint, signing_key, discord_api, corpus_index):
    message, answer_id = answered_with_buttons(endpoint, signing_key, discord_api)
    response = post(endpoint, signing_key, body_of(press(f"vote:down:{answer_id}", message)))
    assert response.status_code == 200
    update = response.json()
    assert update["type"] == 7  # UPDATE_MESSAGE: the embeds stay, the buttons go
    assert update["data"]["components"] == [] and "embeds" not in update["data"]
    assert "Thanks for your vote" in update["data"]["content"]
    assert update["data"]["allowed_mentions"] == {"parse": []}
    assert votes_on(corpus_index, answer_id) == ["down"]


def test_a_vote_on_an_unknown_answer_is_told_privately(endpoint, signing_key, corpus_index):
    response = post(endpoint, signing_key, body_of(press(f"vote:up:{'0' * 32}"))).json()
    assert response["type"] == 4 and response["data"]["flags"] == 64
    assert "no longer on record" in response["data"]["content"]
    assert votes_on(corpus_index, "0" * 32) == []


def test_a_forged_or_replayed_vote_is_refused(endpoint, signing_key, discord_api, corpus_index):
    _, answer_id = answered_with_buttons(endpoint, signing_key, discord_api)
    body = body_of(press(f"vote:up:{answer_id}"))
    assert post(endpoint, SigningKey.generate(), body).status_code == 401
    assert votes_on(corpus_index, answer_id) == []
    stamp = int(time.time())
    assert post(endpoint, signing_key, body, timestamp=stamp).json()["type"] == 7
    assert post(endpoint, signing_key, body, timestamp=stamp).status_code == 401
    assert votes_on(corpus_index, answer_id) == ["up"]


@pytest.mark.parametrize("custom_id", ["vote:sideways:abc", "vote:up:", "other", 7, None,
                                       "vote:up:" + "a" * 91, "vote:up:a b"])
def test_a_component_that_is_not_a_vote_is_400(endpoint, signing_key, custom_id):
    response = post(endpoint, signing_key, body_of(press(custom_id)))
    assert response.status_code == 400

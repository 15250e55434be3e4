"""Replays are refused for as long as the replayed request could be accepted: Slack signatures by
time (not by count, and either side of the clock), Discord interactions by id; one answer each."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from nacl.signing import SigningKey

from bot.chat.limits import SeenSet, SeenSetFull
from tests.server_support import Clock, slack_headers

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures


def challenge(live, body: bytes, headers: dict) -> httpx.Response:
    return httpx.post(f"{live.url}/slack/events", content=body, timeout=10,
                      headers=headers | {"Content-Type": "application/json"})


def test_a_replay_is_refused_after_ten_thousand_other_signatures():
    seen = SeenSet(300, clock=lambda: 1000.0)
    assert seen.first("v0=first")
    for i in range(10_001):
        assert seen.first(f"v0=other-{i}")
    assert not seen.first("v0=first")


def test_a_full_set_refuses_new_keys_until_old_ones_expire():
    now = [0.0]
    seen = SeenSet(300, max_items=2, clock=lambda: now[0])
    assert seen.first("a", expires_at=100) and seen.first("b", expires_at=500)
    with pytest.raises(SeenSetFull):
        seen.first("c")
    now[0] = 101  # "a" can no longer be replayed: its place is free
    assert seen.first("c") and not seen.first("b")


def test_a_slack_signature_from_a_fast_clock_is_refused_for_its_whole_window(serve):
    clock = Clock()
    live = serve(clock=clock)
    body = json.dumps({"type": "url_verification", "challenge": "c1"}).encode()
    headers = slack_headers(body, timestamp=int(time.time()) + 290)  # Slack's clock runs ahead
    assert challenge(live, body, headers).status_code == 200
    clock.offset = 400  # 400 s later the timestamp is 110 s old: still acceptable, so remembered
    assert challenge(live, body, headers).status_code == 401


def test_a_replayed_discord_interaction_is_refused_and_answered_once(serve, discord_api):
    key = SigningKey.generate()
    live = serve(discord_public_key=key.verify_key.encode().hex(),
                 discord_api_url=discord_api.url)
    body = json.dumps({"type": 2, "id": "5001", "application_id": "5", "token": "tok-replay",
                       "data": {"name": "ask", "options": [{"name": "question", "type": 3,
                                                            "value": "What did Suga say?"}]},
                       "member": {"user": {"id": "9"}}}).encode()
    stamp = str(int(time.time()))
    headers = {"X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex(),
               "X-Signature-Timestamp": stamp, "Content-Type": "application/json"}
    url = f"{live.url}/discord/interactions"
    assert httpx.post(url, content=body, headers=headers, timeout=10).json()["type"] == 5
    assert httpx.post(url, content=body, headers=headers, timeout=10).status_code == 401
    assert len(discord_api.requests_for("tok-replay", 1)) == 1
    live.wait_idle()
    assert discord_api.requests_for("tok-replay", 1, timeout=0.5) == []  # no second delivery

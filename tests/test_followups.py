"""Follow-ups through the chat front ends: a Mattermost slash command in a thread continues the
thread's root post; a Discord /ask inside a thread continues the thread (HTTP interactions signed
with a test key, and the gateway through discord.py)."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlencode

import httpx
import pytest
from nacl.signing import SigningKey

from tests.server_support import MATTERMOST_TOKEN

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures
OPENING = "What is the rip and replace programme in the US?"
FOLLOW_UP = "How much will it cost?"


def mattermost(live, receiver, text: str, root_id: str = "") -> None:
    fields = {"channel_id": "c1", "channel_name": "town-square", "command": "/vendorban",
              "response_url": f"{receiver.url}/hooks/commands/{uuid.uuid4().hex}",
              "team_domain": "acme", "team_id": "t1", "text": text, "user_id": "u1",
              "user_name": "ann", "trigger_id": uuid.uuid4().hex}
    if root_id:
        fields["root_id"] = root_id
    response = httpx.post(f"{live.url}/mattermost/commands", content=urlencode(fields).encode(),
                          headers={"Authorization": f"Token {MATTERMOST_TOKEN}",
                                   "Content-Type": "application/x-www-form-urlencoded"},
                          timeout=10)
    assert response.status_code == 200


def test_mattermost_commands_in_a_thread_continue_its_root_post(serve, receiver, tmp_path):
    live = serve(data_dir=tmp_path / "state")
    mattermost(live, receiver, OPENING, root_id="rootpost1")
    receiver.wait_for(1)
    mattermost(live, receiver, FOLLOW_UP, root_id="rootpost1")
    follow = receiver.wait_for(2)[1]["json"]["text"]
    question = follow.splitlines()[0]
    assert question.startswith("**Question:** How much will it cost")
    assert "rip and replace" in question  # answered as the standalone question
    mattermost(live, receiver, FOLLOW_UP, root_id="rootpost2")  # another thread: afresh
    mattermost(live, receiver, FOLLOW_UP)  # no thread: no memory
    for post in receiver.wait_for(4)[2:]:
        assert "rip and replace" not in post["json"]["text"].splitlines()[0]


def signed(url: str, key: SigningKey, interaction: dict) -> httpx.Response:
    body = json.dumps(interaction).encode()
    stamp = str(int(time.time()))
    return httpx.post(url, content=body, timeout=10, headers={
        "X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex(),
        "X-Signature-Timestamp": stamp, "Content-Type": "application/json"})


def discord_ask(number: int, question: str, channel_type: int) -> dict:
    return {"type": 2, "id": f"93{number}", "application_id": "5", "token": f"tok-thread-{number}",
            "guild_id": "600", "channel_id": "5150", "channel": {"id": "5150",
                                                                 "type": channel_type},
            "data": {"name": "ask", "options": [{"name": "question", "type": 3,
                                                 "value": question}]},
            "member": {"user": {"id": str(40 + number)}}}


@pytest.mark.parametrize("channel_type, continued", [(11, True), (0, False)])
def test_discord_ask_inside_a_thread_continues_it(serve, discord_api, tmp_path, channel_type,
                                                  continued):
    key = SigningKey.generate()
    live = serve(data_dir=tmp_path / "state", discord_public_key=key.verify_key.encode().hex(),
                 discord_api_url=discord_api.url)
    url = f"{live.url}/discord/interactions"
    assert signed(url, key, discord_ask(1, OPENING, channel_type)).json()["type"] == 5
    discord_api.requests_for("tok-thread-1", 1)
    assert signed(url, key, discord_ask(2, FOLLOW_UP, channel_type)).json()["type"] == 5
    [edit] = discord_api.requests_for("tok-thread-2", 1)
    title = edit["json"]["embeds"][0]["title"]
    assert title.startswith("How much will it cost")
    assert ("rip and replace" in title) is continued

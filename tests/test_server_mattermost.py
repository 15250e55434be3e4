"""Mattermost slash commands over real HTTP: token checked in constant time, Markdown answers."""

from __future__ import annotations

import re
import uuid
from urllib.parse import urlencode

import httpx
import pytest

from tests.server_support import MATTERMOST_TOKEN

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures


def command_body(receiver, text: str, token: str | None = None) -> bytes:
    fields = {"channel_id": "c1", "channel_name": "town-square", "command": "/vendorban",
              "response_url": f"{receiver.url}/hooks/commands/{uuid.uuid4().hex}",
              "team_domain": "acme", "team_id": "t1", "text": text, "user_id": "u1",
              "user_name": "ann", "trigger_id": uuid.uuid4().hex}
    if token is not None:
        fields["token"] = token
    return urlencode(fields).encode()


def post_command(live, body: bytes, authorization: str | None = None) -> httpx.Response:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return httpx.post(f"{live.url}/mattermost/commands", content=body, headers=headers, timeout=10)


def test_right_token_in_header_gets_a_markdown_answer_at_response_url(serve, receiver):
    live = serve()
    response = post_command(live, command_body(receiver, "What did Suga say?"),
                            f"Token {MATTERMOST_TOKEN}")
    assert response.status_code == 200 and "Searching" in response.json()["text"]
    [post] = receiver.wait_for(1)
    message = post["json"]
    assert message["response_type"] == "ephemeral" and "blocks" not in message
    text = message["text"]
    assert "Cybersecurity is becoming an important issue in Japan" in text
    assert "**Sources**" in text and "<https://" not in text
    assert re.search(r"\\\[\d\\\] \[[^\]]+\]\(https://[^)\s]+\): [^,\n]+, \d{4}-\d\d-\d\d", text)


def test_token_as_form_field_is_accepted_and_public_answers_in_channel(serve, receiver):
    live = serve()
    body = command_body(receiver, "public What did BT announce?", token=MATTERMOST_TOKEN)
    assert post_command(live, body).status_code == 200
    [post] = receiver.wait_for(1)
    assert post["json"]["response_type"] == "in_channel"


@pytest.mark.parametrize(("header", "field"), [
    ("Token wrong-token", None), (None, "wrong-token"), (None, None), ("Token", None),
    (f"Bearer {MATTERMOST_TOKEN}", None), (f"Token {MATTERMOST_TOKEN}x", None),
    ("Token wrong-token", MATTERMOST_TOKEN), (None, "ünïcode-tøken"),
])
def test_wrong_or_missing_token_is_401_and_nothing_is_delivered(serve, receiver, header, field):
    live = serve()
    response = post_command(live, command_body(receiver, "What did Suga say?", field), header)
    assert response.status_code == 401
    assert MATTERMOST_TOKEN not in response.text
    live.wait_idle()
    assert receiver.attempts == 0


def test_help_is_markdown_and_immediate(serve, receiver):
    live = serve()
    response = post_command(live, command_body(receiver, "help"), f"Token {MATTERMOST_TOKEN}")
    text = response.json()["text"]
    assert "`/vendorban sources [search]`" in text and "*" not in text.replace("**", "")
    live.wait_idle()
    assert receiver.attempts == 0


def test_authorised_but_incomplete_form_is_400(serve, receiver):
    live = serve()
    body = urlencode({"text": "hi", "token": MATTERMOST_TOKEN}).encode()
    assert post_command(live, body).status_code == 400

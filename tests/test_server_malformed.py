"""Malformed input over real HTTP gets a 4xx, never a 500; a 500 (a bug) keeps the connection; wrong
API tokens from one client are throttled."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from nacl.signing import SigningKey

from tests.server_support import API_TOKEN, slack_headers

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures

DEEP = b"[" * 60_000  # under the body cap, past json's recursion limit


@pytest.fixture
def discord(serve):
    """A server with Discord HTTP interactions on: (live server, signing key)."""
    key = SigningKey.generate()
    return serve(discord_public_key=key.verify_key.encode().hex()), key


def discord_post(live, key: SigningKey, body: bytes, stamp: bytes | None = None) -> httpx.Response:
    stamp = stamp or str(int(time.time())).encode()
    signature = key.sign(stamp + body).signature.hex()
    return httpx.post(f"{live.url}/discord/interactions", content=body, timeout=10,
                      headers={"X-Signature-Ed25519": signature, "X-Signature-Timestamp": stamp,
                               "Content-Type": "application/json"})


def test_a_slack_signature_with_a_non_ascii_byte_is_401(serve):
    live = serve()
    body = b'{"type": "url_verification", "challenge": "c"}'
    headers = slack_headers(body)
    headers["X-Slack-Signature"] = headers["X-Slack-Signature"][:-1].encode() + b"\xe9"
    for path in ("/slack/events", "/slack/commands"):
        assert httpx.post(f"{live.url}{path}", content=body, headers=headers).status_code == 401


@pytest.mark.parametrize("body", [DEEP, b"[[[[", b"[1, 2]", b"42", b'"text"', b"null"])
def test_signed_but_malformed_json_on_slack_events_is_400(serve, body):
    live = serve()
    response = httpx.post(f"{live.url}/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 400


@pytest.mark.parametrize("body", [DEEP, b"[[[[", b"[1, 2]", b"42", b"null"])
def test_signed_but_malformed_json_on_discord_interactions_is_400(discord, body):
    assert discord_post(*discord, body).status_code == 400


def test_a_discord_timestamp_with_a_non_ascii_byte_is_401(discord):
    assert discord_post(*discord, b'{"type": 1}', stamp=b"17\xb2").status_code == 401


@pytest.mark.parametrize("interaction", [
    {"type": 2, "id": "m1", "data": {"name": ["ask"]}},
    {"type": 2, "id": "m2", "data": {"name": {"ask": 1}}, "token": "t", "application_id": "1"},
    {"type": 4, "id": "m3", "data": {"name": "quote", "options": 5}},
    {"type": 4, "id": "m4", "data": {"name": "quote", "options": {"speaker": "x"}}},
    {"type": [2], "id": "m5"},
])
def test_signed_interactions_of_the_wrong_shape_are_not_500(discord, interaction):
    response = discord_post(*discord, json.dumps(interaction).encode())
    assert response.status_code < 500


def raw_request(sock: socket.socket, path: str, body: bytes) -> bytes:
    """One HTTP/1.1 request on a kept-alive socket; the raw response (empty: connection closed)."""
    sock.sendall(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nContent-Type: "
                 b"application/json\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\n\r\n" + body)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length")))
    while len(rest) < length:
        rest += sock.recv(65536)
    return head


def test_after_a_500_the_kept_alive_connection_still_answers(serve, monkeypatch):
    live = serve()

    def broken(*args: object) -> None:  # a bug in the core stands in for any unhandled error
        raise RuntimeError("boom")

    monkeypatch.setattr(live.services.assistant, "ask", broken)
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        first = raw_request(sock, "/api/ask", b'{"question": "What did Suga say?"}')
        assert first.startswith(b"HTTP/1.1 500")
        second = raw_request(sock, "/api/ask", b"{}")
        assert second.startswith(b"HTTP/1.1 400")


def test_repeated_wrong_api_tokens_are_throttled(serve):
    live = serve(api_token=API_TOKEN)

    def ask(token: str) -> httpx.Response:
        return httpx.post(f"{live.url}/api/ask", json={"question": "What did Suga say?"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=30)

    statuses = [ask(f"guess-{i}").status_code for i in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    refused = ask(API_TOKEN)  # even a right guess: no more guessing from this client for now
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1

"""Slack slash commands over real HTTP: signature first, ack within 3 s, answer at response_url."""

from __future__ import annotations

import re
import threading
import time
import uuid
from urllib.parse import urlencode

import httpx
import pytest

from bot.server.render_slack import MAX_BLOCKS, MAX_SECTION_CHARS
from tests.server_support import Clock, slack_headers

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures

SUGA_WORDS = "Cybersecurity is becoming an important issue in Japan"


def command_body(receiver, text: str, user: str = "U1", **extra: str) -> bytes:
    fields = {"token": "deprecated", "team_id": "T1", "team_domain": "acme", "channel_id": "C1",
              "channel_name": "general", "user_id": user, "user_name": "ann",
              "command": "/vendorban", "text": text, "api_app_id": "A1",
              "trigger_id": uuid.uuid4().hex,
              "response_url": f"{receiver.url}/commands/T1/123/secretpath"} | extra
    return urlencode(fields).encode()


def post_command(live, body: bytes, headers: dict | None = None) -> httpx.Response:
    return httpx.post(f"{live.url}/slack/commands", content=body,
                      headers=slack_headers(body) if headers is None else headers, timeout=10)


def sections(message: dict) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]


def test_signed_command_is_acked_before_the_answer_then_answered_with_cited_blocks(
        serve, receiver, monkeypatch):
    live = serve()
    acked, real_ask = threading.Event(), live.services.assistant.ask

    def ask_after_the_ack(*args, **kwargs):  # Slack wants the ack within 3 s, whatever the answer
        assert acked.wait(30), "the ack waited for the answer"
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(live.services.assistant, "ask", ask_after_the_ack)
    response = post_command(live, command_body(receiver, "What did Suga say?"))
    acked.set()
    assert response.status_code == 200
    ack = response.json()
    assert ack["response_type"] == "ephemeral" and "Searching" in ack["text"]
    [post] = receiver.wait_for(1)
    message = post["json"]
    assert post["path"] == "/commands/T1/123/secretpath"
    assert message["response_type"] == "ephemeral"
    assert SUGA_WORDS in message["text"]  # the plain fallback
    body = "\n".join(sections(message))
    assert SUGA_WORDS in body and "[1]" in body
    # sources: <url|title> links followed by outlet and date; the seed has no URL and no date
    assert re.search(r"\*\[\d\]\* <https://[^|>\s]+\|[^>]+>: [^,\n]+, \d{4}-\d\d-\d\d", body)
    assert "Japanese Government To Ban Huawei, ZTE Kit" in body and "undated" in body
    assert len(message["blocks"]) <= MAX_BLOCKS
    assert all(len(text) <= MAX_SECTION_CHARS for text in sections(message))
    assert len(str(message["blocks"])) < 12_000


def test_public_prefix_answers_in_channel(serve, receiver):
    live = serve()
    response = post_command(live, command_body(receiver, "public What did BT announce?"))
    assert response.status_code == 200
    [post] = receiver.wait_for(1)
    assert post["json"]["response_type"] == "in_channel"
    assert "core" in post["json"]["text"]


@pytest.mark.parametrize("damage", ["bad signature", "wrong secret", "stale", "future", "missing",
                                    "no signature", "bad timestamp", "body changed"])
def test_bad_or_stale_signature_is_401_and_nothing_is_delivered(serve, receiver, damage):
    live = serve()
    body = command_body(receiver, "What did Suga say?")
    headers = slack_headers(body)
    if damage == "bad signature":
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    elif damage == "wrong secret":
        headers = slack_headers(body, secret="not-the-secret")
    elif damage == "stale":
        headers = slack_headers(body, timestamp=int(time.time()) - 301)
    elif damage == "future":
        headers = slack_headers(body, timestamp=int(time.time()) + 302)
    elif damage == "missing":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    elif damage == "no signature":
        del headers["X-Slack-Signature"]
    elif damage == "bad timestamp":
        headers["X-Slack-Request-Timestamp"] = "yesterday"
    else:
        body = body.replace(b"Suga", b"Geng")
    response = post_command(live, body, headers)
    assert response.status_code == 401
    assert "Searching" not in response.text
    live.wait_idle()  # work is spawned before the response, so none can start later
    assert receiver.attempts == 0


def test_a_request_replayed_after_the_window_is_rejected(serve, receiver):
    clock = Clock()
    live = serve(clock=clock)
    body = command_body(receiver, "What did Suga say?")
    headers = slack_headers(body)
    assert post_command(live, body, headers).status_code == 200
    receiver.wait_for(1)
    clock.offset = 301  # the same bytes, five minutes and a second later
    assert post_command(live, body, headers).status_code == 401
    live.wait_idle()
    assert len(receiver.posts) == 1


def test_a_request_replayed_inside_the_window_is_rejected(serve, receiver):
    live = serve()
    body = command_body(receiver, "What did Suga say?")
    headers = slack_headers(body)
    assert post_command(live, body, headers).status_code == 200
    assert post_command(live, body, headers).status_code == 401
    receiver.wait_for(1)
    live.wait_idle()
    assert len(receiver.posts) == 1


@pytest.mark.parametrize(("text", "expected"), [
    ("help", "sources [search]"), ("", "quote &lt;speaker&gt;"), ("frobnicate", "Unknown command"),
    ("quote", "needs a speaker"),
])
def test_help_and_unknown_subcommands_are_answered_at_once_with_help(serve, receiver, text,
                                                                     expected):
    live = serve()
    response = post_command(live, command_body(receiver, text))
    assert response.status_code == 200
    assert expected in response.json()["text"]
    assert response.json()["response_type"] == "ephemeral"
    live.wait_idle()
    assert receiver.attempts == 0


def test_sources_subcommand_lists_matching_documents_as_links(serve, receiver):
    live = serve()
    post_command(live, command_body(receiver, "sources sweden"))
    [post] = receiver.wait_for(1)
    body = "\n".join(sections(post["json"]))
    assert "Sweden" in body and "<https://" in body
    assert "Japanese Government" not in body


def test_quote_subcommand_gives_the_speakers_words(serve, receiver):
    live = serve()
    post_command(live, command_body(receiver, "quote Geng Shuang"))
    [post] = receiver.wait_for(1)
    assert "fair competition environment" in post["json"]["text"]


def test_too_long_question_gets_a_clear_reply_and_no_search(serve, receiver):
    live = serve()
    response = post_command(live, command_body(receiver, "why " * 200))
    assert response.status_code == 200
    assert "too long" in response.json()["text"]
    live.wait_idle()
    assert receiver.attempts == 0


@pytest.mark.parametrize("body", [b"a=1&&&b", b"no-equals-sign", b"text=hi&user_id=U1"])
def test_malformed_or_incomplete_form_is_400(serve, receiver, body):
    live = serve()
    assert post_command(live, body).status_code == 400


def test_oversized_body_is_413(serve, receiver):
    live = serve(max_body_bytes=4096)
    body = command_body(receiver, "What did Suga say? " + "x" * 5000)
    assert post_command(live, body).status_code == 413
    assert receiver.attempts == 0


def test_rate_limit_is_per_user(serve, receiver):
    live = serve(rate_limit_per_minute=2)
    replies = [post_command(live, command_body(receiver, "help", user="U9")).json()["text"]
               for _ in range(3)]
    assert "too fast" not in replies[1] and "too fast" in replies[2]
    assert "too fast" not in post_command(live, command_body(receiver, "help", user="U8")).text


def test_failing_response_url_is_retried_then_delivered_once(serve, receiver):
    receiver.fail_first = 2
    live = serve()
    post_command(live, command_body(receiver, "What did Suga say?"))
    [post] = receiver.wait_for(1)
    live.wait_idle()
    assert receiver.attempts == 3 and SUGA_WORDS in post["json"]["text"]


def test_delivery_gives_up_after_three_attempts(serve, receiver):
    receiver.fail_first = 10
    live = serve()
    post_command(live, command_body(receiver, "What did Suga say?"))
    live.wait_idle()
    assert receiver.attempts == 3 and receiver.posts == []


def test_a_slow_response_url_does_not_block_other_requests(serve, receiver):
    receiver.stall = threading.Event()
    live = serve()
    post_command(live, command_body(receiver, "What did Suga say?"))
    receiver.wait_attempts(1)  # the answer is computed and its delivery is stuck in the receiver
    assert httpx.get(f"{live.url}/healthz", timeout=10).status_code == 200
    ack = post_command(live, command_body(receiver, "help", user="U2"))
    assert ack.status_code == 200  # answered while the delivery is held (else: a read timeout)
    receiver.stall.set()
    receiver.wait_for(1)

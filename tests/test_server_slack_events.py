"""Slack Events API over real HTTP: the challenge, and app mentions answered once, in the thread."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.server_support import SLACK_BOT_TOKEN, slack_headers

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures


def post_event(live, payload: dict, timestamp: int | None = None, retry: int | None = None,
               headers: dict | None = None) -> httpx.Response:
    body = json.dumps(payload).encode()
    sent = slack_headers(body, timestamp=timestamp) | {"Content-Type": "application/json"}
    if retry is not None:
        sent |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return httpx.post(f"{live.url}/slack/events", content=body,
                      headers=sent if headers is None else headers, timeout=10)


def mention(text: str, event_id: str = "Ev01", thread_ts: str | None = None) -> dict:
    event = {"type": "app_mention", "user": "U1", "text": text, "ts": "1700000000.000100",
             "channel": "C1", "event_ts": "1700000000.000100"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {"token": "x", "team_id": "T1", "api_app_id": "A1", "event": event,
            "type": "event_callback", "event_id": event_id, "event_time": 1700000000}


def test_url_verification_challenge_is_echoed(serve):
    live = serve()
    response = post_event(live, {"type": "url_verification", "token": "x", "challenge": "c-123"})
    assert response.status_code == 200 and response.json() == {"challenge": "c-123"}


def test_unsigned_challenge_is_401(serve):
    live = serve()
    response = post_event(live, {"type": "url_verification", "challenge": "c-123"},
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and "c-123" not in response.text


def test_mention_retried_three_times_is_answered_once_in_its_thread(serve, receiver):
    live = serve()
    payload = mention("<@UBOT> What did Suga say?")
    now = int(time.time())
    statuses = [post_event(live, payload, timestamp=now - 3 + i, retry=i or None).status_code
                for i in range(4)]  # the delivery and Slack's three retries, each freshly signed
    assert statuses == [200, 200, 200, 200]
    [post] = receiver.wait_for(1)
    live.wait_idle()  # the retries' work, had any been spawned, has ended too
    assert len(receiver.posts) == 1
    assert post["path"] == "/chat.postMessage"
    assert post["headers"]["Authorization"] == f"Bearer {SLACK_BOT_TOKEN}"
    message = post["json"]
    assert message["channel"] == "C1" and message["thread_ts"] == "1700000000.000100"
    assert "Cybersecurity is becoming an important issue in Japan" in message["text"]
    assert "response_type" not in message and message["blocks"]


def test_mention_inside_a_thread_replies_to_that_thread(serve, receiver):
    live = serve()
    post_event(live, mention("<@UBOT> sources sweden", "Ev02", thread_ts="1699999999.000001"))
    [post] = receiver.wait_for(1)
    assert post["json"]["thread_ts"] == "1699999999.000001"
    assert "Sweden" in post["json"]["text"]


def test_events_from_bots_and_other_types_are_acked_and_ignored(serve, receiver):
    live = serve()
    bot = mention("<@UBOT> What did Suga say?", "Ev03")
    bot["event"]["bot_id"] = "B1"
    assert post_event(live, bot).status_code == 200
    other = mention("hi", "Ev04")
    other["event"]["type"] = "message"
    assert post_event(live, other).status_code == 200
    live.wait_idle()
    assert receiver.attempts == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]"])
def test_malformed_event_body_is_400(serve, body):
    live = serve()
    response = httpx.post(f"{live.url}/slack/events", content=body,
                          headers=slack_headers(body) | {"Content-Type": "application/json"})
    assert response.status_code == 400


def test_without_a_bot_token_a_mention_is_acked_but_not_answered(serve, receiver, caplog):
    live = serve(slack_bot_token="")
    assert post_event(live, mention("<@UBOT> What did Suga say?", "Ev05")).status_code == 200
    live.wait_idle()
    assert receiver.attempts == 0
    assert "VENDORBAN_SLACK_BOT_TOKEN is not set" in caplog.text


def context_text(message: dict) -> str:
    return " ".join(e["text"] for b in message["blocks"] if b["type"] == "context"
                    for e in b["elements"])


def test_a_follow_up_mention_in_the_thread_is_answered_about_the_earlier_subject(serve,
                                                                                   receiver):
    live = serve()
    first = mention("<@UBOT> What is the rip and replace programme in the US?", "Ev10")
    first["event"]["ts"] = "1700000100.000100"  # starts the thread: its own ts is the root
    post_event(live, first)
    [opening] = receiver.wait_for(1)
    assert "Read as" not in context_text(opening["json"])
    follow = mention("<@UBOT> How much will it cost?", "Ev11", thread_ts="1700000100.000100")
    follow["event"]["ts"] = "1700000200.000200"
    post_event(live, follow)
    reply = receiver.wait_for(2)[1]["json"]
    assert reply["thread_ts"] == "1700000100.000100"
    context = context_text(reply)
    assert "*Question:* How much will it cost?" in context
    assert "*Read as:*" in context and "rip and replace" in context.split("*Read as:*")[1]
    assert "billion" in reply["text"] and "rip and replace" in reply["text"].lower()


def test_a_mention_in_another_thread_starts_afresh(serve, receiver):
    live = serve()
    first = mention("<@UBOT> What is the rip and replace programme in the US?", "Ev20")
    first["event"]["ts"] = "1700000300.000300"
    post_event(live, first)
    receiver.wait_for(1)
    for n, root in enumerate(("1700000400.000400", None)):  # another thread; no thread at all
        other = mention("<@UBOT> How much will it cost?", f"Ev2{n + 1}", thread_ts=root)
        other["event"]["ts"] = "1700000500.00050" + str(n)
        post_event(live, other)
        reply = receiver.wait_for(2 + n)[1 + n]["json"]
        assert reply["thread_ts"] == (root or other["event"]["ts"])
        assert "Read as" not in context_text(reply)
        assert "*Question:* How much will it cost?" in context_text(reply)


def reply(text: str, ts: str, thread_ts: str | None, event_id: str, user: str = "U2",
          **extra: object) -> dict:
    """A `message` event as Slack sends it for a channel the bot is in (message.channels)."""
    payload = mention(text, event_id, thread_ts)
    payload["event"] |= {"type": "message", "user": user, "ts": ts, "event_ts": ts,
                         "channel_type": "channel", **extra}
    payload["authorizations"] = [{"enterprise_id": None, "team_id": "T1", "user_id": "UBOT",
                                  "is_bot": True, "is_enterprise_install": False}]
    return payload


def started_thread(live, receiver, root: str, event_id: str) -> None:
    """A thread whose root mentions the bot with a question, and the bot's answer in it."""
    first = mention("<@UBOT> What is the rip and replace programme in the US?", event_id)
    first["event"]["ts"] = root
    assert post_event(live, first).status_code == 200
    receiver.wait_for(1)
    live.wait_idle()


def test_a_plain_reply_in_a_thread_the_bot_answered_continues_it(serve, receiver):
    live = serve()
    root = "1700001000.000100"
    started_thread(live, receiver, root, "EvT1")
    follow = reply("How much will it cost?", "1700001010.000100", root, "EvT2")
    now = int(time.time())
    assert [post_event(live, follow, timestamp=now - 1 + i, retry=i or None).status_code
            for i in range(2)] == [200, 200]  # and Slack's retry of it
    answer = receiver.wait_for(2)[1]
    live.wait_idle()
    assert len(receiver.posts) == 2  # the first answer and this one, once
    assert answer["path"] == "/chat.postMessage"
    message = answer["json"]
    assert message["thread_ts"] == root and message["channel"] == "C1"
    context = context_text(message)
    assert "*Read as:*" in context and "rip and replace" in context.split("*Read as:*")[1]
    assert "billion" in message["text"]


@pytest.mark.parametrize(("case", "changes"), [
    ("the bot's own post", {"user": "UBOT", "bot_id": "BBOT"}),
    ("the bot's own post, no bot_id", {"user": "UBOT"}),
    ("another bot", {"user": "U9", "bot_id": "B9", "subtype": "bot_message"}),
    ("an edit", {"subtype": "message_changed"}),
    ("a deletion", {"subtype": "message_deleted"}),
    ("a thread the bot never answered", {"thread_ts": "1700001099.000100"}),
    ("a message outside any thread", {"thread_ts": None}),
    ("chatter that asks nothing", {"text": "thanks"}),
])
def test_plain_messages_the_bot_must_not_answer(serve, receiver, case, changes):
    live = serve()
    root = "1700001100.000100"
    started_thread(live, receiver, root, f"EvU-{case}")
    ignored = reply("How much will it cost?", "1700001110.000100", root, f"EvV-{case}")
    ignored["event"] |= changes
    if changes.get("thread_ts", "") is None:
        del ignored["event"]["thread_ts"]
    assert post_event(live, ignored).status_code == 200
    live.wait_idle()
    assert len(receiver.posts) == 1, case


def test_a_mention_in_the_thread_comes_twice_and_is_answered_once(serve, receiver):
    live = serve()
    root = "1700001200.000100"
    started_thread(live, receiver, root, "EvW1")
    text, ts = "<@UBOT> And by when?", "1700001210.000100"
    as_message = reply(text, ts, root, "EvW2")  # Slack sends both; either may come first
    as_mention = mention(text, "EvW3", thread_ts=root)
    as_mention["event"]["ts"] = ts
    for payload in (as_message, as_mention):
        assert post_event(live, payload).status_code == 200
    receiver.wait_for(2)
    live.wait_idle()
    assert len(receiver.posts) == 2
    assert receiver.posts[1]["json"]["thread_ts"] == root

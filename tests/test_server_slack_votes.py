"""Slack vote buttons over real HTTP: answers carry 👍/👎, a signed block_actions press records the
vote and the buttons give way to a thank-you at the response_url."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import httpx
import pytest

from bot.server.render_slack import MAX_BLOCKS
from tests.server_support import slack_headers
from tests.test_server_slack import command_body, post_command
from tests.test_server_slack_events import mention, post_event

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures


def vote_buttons(message: dict) -> list[dict]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def answered(live, receiver, question: str = "public What did Suga say?") -> dict:
    """A slash command's answer as posted to the response_url."""
    assert post_command(live, command_body(receiver, question)).status_code == 200
    [post] = receiver.wait_for(1)
    live.wait_idle()
    return post["json"]


def press(receiver, answer_id: str, action: str = "vote_down", message: dict | None = None,
          user: str = "U7") -> dict:
    payload = {"type": "block_actions", "user": {"id": user, "team_id": "T1"},
               "team": {"id": "T1"}, "api_app_id": "A1", "trigger_id": "t1",
               "container": {"type": "message", "message_ts": "1700000000.1",
                             "is_ephemeral": message is None},
               "response_url": f"{receiver.url}/actions/T1/456/secretpath",
               "actions": [{"type": "button", "block_id": "vote", "action_id": action,
                            "value": answer_id, "action_ts": "1700000001.2"}]}
    if message is not None:
        payload["message"] = {"type": "message", "ts": "1700000000.1", **message}
    return payload


def post_interaction(live, payload: object, headers: dict | None = None,
                     raw: bytes | None = None) -> httpx.Response:
    body = raw if raw is not None else urlencode({"payload": json.dumps(payload)}).encode()
    return httpx.post(f"{live.url}/slack/interactions", content=body,
                      headers=slack_headers(body) if headers is None else headers, timeout=10)


def test_a_slash_answer_carries_vote_buttons_holding_its_recorded_answer_id(serve, receiver):
    live = serve()
    message = answered(live, receiver)
    buttons = vote_buttons(message)
    assert [b["action_id"] for b in buttons] == ["vote_up", "vote_down"]
    assert buttons[0]["value"] == buttons[1]["value"]
    assert all(len(b["text"]["text"]) <= 75 for b in buttons)
    assert len(message["blocks"]) <= MAX_BLOCKS
    # the value is a recorded answer: a vote on it is accepted
    assert live.services.usage.vote(buttons[0]["value"], "up")


def test_help_and_quotes_have_no_vote_buttons(serve, receiver):
    live = serve()
    response = post_command(live, command_body(receiver, "help"))
    assert "blocks" not in response.json() or not vote_buttons(response.json())
    message = answered(live, receiver, "quote Suga")
    assert not vote_buttons(message)


def test_a_mention_reply_carries_vote_buttons(serve, receiver):
    live = serve()
    assert post_event(live, mention("<@UBOT> What did Suga say?", "EvVote")).status_code == 200
    [post] = receiver.wait_for(1)
    assert post["path"] == "/chat.postMessage"
    assert [b["action_id"] for b in vote_buttons(post["json"])] == ["vote_up", "vote_down"]


def test_a_signed_vote_is_recorded_and_the_buttons_give_way_to_a_thank_you(serve, receiver):
    live = serve()
    message = answered(live, receiver)
    answer_id = vote_buttons(message)[0]["value"]
    shown = {"text": message["text"], "blocks": message["blocks"]}
    response = post_interaction(live, press(receiver, answer_id, "vote_down", shown))
    assert response.status_code == 200
    [_, post] = receiver.wait_for(2)
    assert post["path"] == "/actions/T1/456/secretpath"
    replaced = post["json"]
    assert replaced["replace_original"] is True
    assert not vote_buttons(replaced)
    assert replaced["blocks"][:-1] == [b for b in message["blocks"] if b["type"] != "actions"]
    assert "Thanks for your vote" in replaced["blocks"][-1]["elements"][0]["text"]
    assert replaced["text"] == message["text"]
    [vote] = [v for v in live.services.usage.votes() if v.answer_id == answer_id]
    assert vote.vote == "down" and vote.platform == "slack"


def test_a_vote_on_an_ephemeral_answer_thanks_the_voter_apart(serve, receiver):
    live = serve()
    answer_id = vote_buttons(answered(live, receiver, "What did Suga say?"))[0]["value"]
    assert post_interaction(live, press(receiver, answer_id, "vote_up")).status_code == 200
    [_, post] = receiver.wait_for(2)
    assert post["json"]["replace_original"] is False
    assert post["json"]["response_type"] == "ephemeral"
    assert "Thanks for your vote" in post["json"]["text"]
    assert [v.vote for v in live.services.usage.votes() if v.answer_id == answer_id] == ["up"]


def test_a_second_vote_by_the_same_user_replaces_the_first(serve, receiver):
    live = serve()
    answer_id = vote_buttons(answered(live, receiver))[0]["value"]
    for action in ("vote_up", "vote_down"):
        assert post_interaction(live, press(receiver, answer_id, action)).status_code == 200
    receiver.wait_for(3)
    assert [v.vote for v in live.services.usage.votes() if v.answer_id == answer_id] == ["down"]


def test_a_vote_on_an_unknown_answer_says_it_is_no_longer_on_record(serve, receiver):
    live = serve()
    payload = press(receiver, "0" * 32, "vote_up", {"text": "old", "blocks": []})
    assert post_interaction(live, payload).status_code == 200
    [post] = receiver.wait_for(1)
    assert post["json"]["response_type"] == "ephemeral"
    assert post["json"]["replace_original"] is False
    assert "no longer on record" in post["json"]["text"]
    assert not [v for v in live.services.usage.votes() if v.answer_id == "0" * 32]


@pytest.mark.parametrize("damage", ["forged", "wrong secret", "stale", "unsigned"])
def test_a_badly_signed_vote_is_401_and_not_recorded(serve, receiver, damage):
    live = serve()
    answer_id = vote_buttons(answered(live, receiver))[0]["value"]
    body = urlencode({"payload": json.dumps(press(receiver, answer_id))}).encode()
    headers = {"forged": slack_headers(body) | {"X-Slack-Signature": "v0=" + "1" * 64},
               "wrong secret": slack_headers(body, secret="not-the-secret"),
               "stale": slack_headers(body, timestamp=int(time.time()) - 301),
               "unsigned": {"Content-Type": "application/x-www-form-urlencoded"}}[damage]
    assert post_interaction(live, None, headers, raw=body).status_code == 401
    live.wait_idle()
    assert receiver.attempts == 1  # the answer only
    assert not [v for v in live.services.usage.votes() if v.answer_id == answer_id]


def test_a_replayed_vote_is_refused(serve, receiver):
    live = serve()
    answer_id = vote_buttons(answered(live, receiver))[0]["value"]
    body = urlencode({"payload": json.dumps(press(receiver, answer_id))}).encode()
    headers = slack_headers(body)
    assert post_interaction(live, None, headers, raw=body).status_code == 200
    assert post_interaction(live, None, headers, raw=body).status_code == 401
    receiver.wait_for(2)
    live.wait_idle()
    assert len(receiver.posts) == 2


def _form(payload: object) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}
                     ).encode()


def _click(value: object, url: object = "http://127.0.0.1:9/x") -> bytes:
    return _form({"type": "block_actions", "response_url": url,
                  "actions": [{"action_id": "vote_up", "value": value}]})


@pytest.mark.parametrize("raw", [
    b"", b"payload=", b"payload=%7Bnot+json", b"payload=%5B1%2C2%5D", b"other=1",
    b"payload=%FF%FE", _form("[" * 10_000), _form({"type": "block_actions", "actions": "vote_up"}),
    _click(7), _click("a b"), _click("x" * 129), _click("ab12", "file:///etc/passwd"),
    _click("ab12", None),
])
def test_a_malformed_interaction_is_400_never_500(serve, receiver, raw):
    live = serve()
    response = post_interaction(live, None, raw=raw)
    assert response.status_code == 400, response.text
    assert "error" in response.json()
    live.wait_idle()
    assert receiver.attempts == 0


def test_other_interactions_are_acknowledged_and_ignored(serve, receiver):
    live = serve()
    other = {"type": "block_actions", "response_url": f"{receiver.url}/x",
             "actions": [{"action_id": "something_else", "value": "x"}]}
    assert post_interaction(live, other).status_code == 200
    assert post_interaction(live, {"type": "shortcut", "callback_id": "x"}).status_code == 200
    live.wait_idle()
    assert receiver.attempts == 0


def test_an_oversized_interaction_body_is_413(serve, receiver):
    live = serve(max_body_bytes=4096)
    raw = urlencode({"payload": json.dumps({"type": "block_actions", "pad": "x" * 8000})}).encode()
    assert post_interaction(live, None, raw=raw).status_code == 413


def test_votes_count_against_the_shared_rate_limit(serve, receiver):
    live = serve(rate_limit_per_minute=2)
    answer_id = vote_buttons(answered(live, receiver))[0]["value"]  # U1's command: one hit
    for action in ("vote_up", "vote_down"):  # U7: two votes fit, a third does not
        before = len(receiver.posts)  # counted before the press: its reply may come back first
        assert post_interaction(live, press(receiver, answer_id, action)).status_code == 200
        receiver.wait_for(before + 1)
    third = press(receiver, answer_id, "vote_up")
    third["actions"][0]["action_ts"] = "1700000009.9"  # another press, not a replay
    assert post_interaction(live, third).status_code == 200
    refused = receiver.wait_for(4)[3]["json"]
    assert refused["response_type"] == "ephemeral" and "too fast" in refused["text"]
    assert [v.vote for v in live.services.usage.votes() if v.answer_id == answer_id] == ["down"]
    assert live.services.limiter.waiting("slack:T1:U7") > 0

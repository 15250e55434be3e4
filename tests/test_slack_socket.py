"""Slack over Socket Mode, end to end through slack-bolt and slack_sdk: a local Slack hands out a
ws:// URL at apps.connections.open, pushes envelopes over the socket and receives the acks and
the posted answers (`tests/slack_fake.py`)."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest
from pydantic import SecretStr

from bot.chat.services import CORE_THREADS, Services
from bot.chat.workload import Workload
from bot.core.assistant import Assistant
from bot.core.config import Settings
from bot.core.errors import ConfigError
from bot.server.slack_socket import require_tokens, run_socket
from tests.server_support import SLACK_BOT_TOKEN
from tests.slack_fake import BOT_USER, FakeSlack

APP_TOKEN = "xapp-1-A1-test-app-level-token-55"


class SocketBot:
    """`run_socket` in a thread with its own event loop, as `vendorban slack --socket` runs it."""

    def __init__(self, settings: Settings, assistant: Assistant) -> None:
        self.services = Services(settings, assistant)
        self.workload = Workload(settings.max_queue_seconds, CORE_THREADS,
                                 self.services.executor)
        self.loop = asyncio.new_event_loop()
        self.stop_event = asyncio.Event()
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(settings,), daemon=True)
        self.thread.start()

    def _run(self, settings: Settings) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(run_socket(settings, self.services, self.stop_event,
                                                    workload=self.workload))
        except BaseException as exc:  # the test reads it
            self.error = exc
        finally:
            self.done.set()

    def wait_idle(self) -> None:
        """Until every answer and delivery the bot started has finished (awaited in its loop)."""
        async def idle() -> None:
            while self.workload.tasks or self.services.delivery.tasks:
                await asyncio.wait(self.workload.tasks | self.services.delivery.tasks)

        asyncio.run_coroutine_threadsafe(idle(), self.loop).result(60)

    def stop(self) -> None:
        if not self.done.is_set():
            self.loop.call_soon_threadsafe(self.stop_event.set)
        assert self.done.wait(60), "the socket bot did not stop"
        self.services.executor.shutdown(wait=False, cancel_futures=True)


@pytest.fixture
def slack():
    fake = FakeSlack(SLACK_BOT_TOKEN, APP_TOKEN)
    yield fake
    fake.close()


def socket_settings(corpus_index, slack: FakeSlack, **overrides: object):
    values = {"slack_bot_token": SecretStr(SLACK_BOT_TOKEN),
              "slack_app_token": SecretStr(APP_TOKEN), "slack_api_url": slack.api_url,
              "rate_limit_per_minute": 1000} | overrides
    return corpus_index[0].model_copy(update=values)


@pytest.fixture
def bot(corpus_index, slack):
    running = SocketBot(socket_settings(corpus_index, slack), corpus_index[1])
    slack.wait(lambda: slack.connections >= 1 or running.done.is_set())
    assert running.error is None, running.error
    yield running
    running.stop()


def command(slack: FakeSlack, text: str, name: str) -> dict:
    return {"token": "x", "team_id": "T1", "team_domain": "test", "channel_id": "C1",
            "channel_name": "general", "user_id": "U1", "user_name": "ann",
            "command": "/vendorban", "text": text, "api_app_id": "A1", "is_enterprise_install":
            "false", "response_url": slack.response_url(name), "trigger_id": "t1"}


def event(inner: dict, event_id: str) -> dict:
    return {"token": "x", "team_id": "T1", "api_app_id": "A1", "event": inner,
            "type": "event_callback", "event_id": event_id, "event_time": 1700000000,
            "authorizations": [{"enterprise_id": None, "team_id": "T1", "user_id": BOT_USER,
                                "is_bot": True, "is_enterprise_install": False}]}


def message(text: str, ts: str, thread_ts: str | None = None, user: str = "U1",
            kind: str = "message", **extra: object) -> dict:
    inner = {"type": kind, "user": user, "text": text, "ts": ts, "channel": "C7",
             "event_ts": ts, "channel_type": "channel", **extra}
    if thread_ts:
        inner["thread_ts"] = thread_ts
    return inner


def buttons(message: dict) -> list[dict]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_a_slash_command_is_acked_over_the_socket_then_answered_at_its_response_url(bot, slack):
    envelope = slack.send("slash_commands", command(slack, "What did Suga say?", "cmd-1"))
    ack = slack.ack(envelope)
    assert ack["payload"]["response_type"] == "ephemeral"
    assert ack["payload"]["text"].startswith(":mag: Searching the corpus")
    [post] = slack.wait_posts("/response/cmd-1")
    answer = post["json"]
    assert "Cybersecurity is becoming an important issue in Japan" in answer["text"]
    assert answer["replace_original"] is False and answer["blocks"]
    assert [b["action_id"] for b in buttons(answer)] == ["vote_up", "vote_down"]
    ack_at, post_at = slack.order(envelope, "/response/cmd-1")
    assert ack_at < post_at  # acked first, answered after


def test_help_is_the_ack_itself_and_nothing_is_posted(bot, slack):
    envelope = slack.send("slash_commands", command(slack, "help", "cmd-help"))
    ack = slack.ack(envelope)
    assert "sources [search]" in ack["payload"]["text"]
    bot.wait_idle()
    assert slack.posts() == []


def test_a_mention_is_answered_once_in_its_thread_though_slack_retries_it(bot, slack):
    payload = event(message("<@UBOT> What did Suga say?", "1700000000.000100",
                            kind="app_mention"), "EvS1")
    envelope = slack.send("events_api", payload)
    assert slack.ack(envelope) == {"envelope_id": envelope}  # an empty ack, at once
    [post] = slack.wait_posts("/api/chat.postMessage")
    assert post["headers"]["Authorization"] == f"Bearer {SLACK_BOT_TOKEN}"
    reply = post["json"]
    assert reply["channel"] == "C7" and reply["thread_ts"] == "1700000000.000100"
    assert "Cybersecurity is becoming an important issue in Japan" in reply["text"]
    assert "response_type" not in reply
    assert [b["action_id"] for b in buttons(reply)] == ["vote_up", "vote_down"]
    slack.ack(slack.send("events_api", payload, retry=1))
    bot.wait_idle()
    assert len(slack.posts("/api/chat.postMessage")) == 1


def test_plain_replies_continue_a_thread_the_bot_answered_and_nothing_else(bot, slack):
    root = "1700000600.000100"
    slack.send("events_api", event(message(
        "<@UBOT> What is the rip and replace programme in the US?", root, kind="app_mention"),
        "EvS10"))
    slack.wait_posts("/api/chat.postMessage", 1)
    ignored = [  # its own post, another bot, an edit, a thread it never answered, no thread
        message("Here is what I found", "1700000601.000001", root, user=BOT_USER, bot_id="BBOT"),
        message("beep", "1700000602.000001", root, user="U9", bot_id="B9", subtype="bot_message"),
        message("How much?", "1700000603.000001", root, subtype="message_changed"),
        message("How much will it cost?", "1700000604.000001", "1700000599.000001"),
        message("How much will it cost?", "1700000605.000001"),
    ]
    for n, inner in enumerate(ignored):
        slack.ack(slack.send("events_api", event(inner, f"EvS2{n}")))
    follow = message("How much will it cost?", "1700000610.000001", root, user="U2")
    slack.ack(slack.send("events_api", event(follow, "EvS30")))
    [_, post] = slack.wait_posts("/api/chat.postMessage", 2)
    reply = post["json"]
    assert reply["thread_ts"] == root and reply["channel"] == "C7"
    context = " ".join(e["text"] for b in reply["blocks"] if b["type"] == "context"
                       for e in b["elements"])
    assert "*Read as:*" in context and "rip and replace" in context.split("*Read as:*")[1]
    assert "billion" in reply["text"]
    bot.wait_idle()
    assert len(slack.posts("/api/chat.postMessage")) == 2


def test_a_vote_over_the_socket_is_recorded_and_the_message_updated(bot, slack):
    slack.ack(slack.send("slash_commands", command(slack, "public What did Suga say?", "cmd-v")))
    [post] = slack.wait_posts("/response/cmd-v")
    answer = post["json"]
    answer_id = buttons(answer)[0]["value"]
    press = {"type": "block_actions", "user": {"id": "U7", "team_id": "T1"}, "team": {"id": "T1"},
             "api_app_id": "A1", "trigger_id": "t2",
             "container": {"type": "message", "message_ts": "1700000000.1"},
             "response_url": slack.response_url("vote-1"),
             "message": {"type": "message", "ts": "1700000000.1", "text": answer["text"],
                         "blocks": answer["blocks"]},
             "actions": [{"type": "button", "block_id": "vote", "action_id": "vote_down",
                          "value": answer_id, "action_ts": "1700000001.2"}]}
    envelope = slack.send("interactive", press)
    assert "payload" not in slack.ack(envelope)
    [thanks] = slack.wait_posts("/response/vote-1")
    assert thanks["json"]["replace_original"] is True
    assert not buttons(thanks["json"])
    assert "Thanks for your vote" in thanks["json"]["blocks"][-1]["elements"][0]["text"]
    [vote] = [v for v in bot.services.usage.votes() if v.answer_id == answer_id]
    assert vote.vote == "down" and vote.platform == "slack"


def test_no_token_reaches_the_log_even_at_debug(corpus_index, slack, caplog):
    caplog.set_level(logging.DEBUG)
    running = SocketBot(socket_settings(corpus_index, slack), corpus_index[1])
    try:
        slack.wait_connected()
        slack.ack(slack.send("slash_commands", command(slack, "What did Suga say?", "secret-7")))
        slack.wait_posts("/response/secret-7")
        slack.send("events_api", event(message("<@UBOT> What did Suga say?", "1700000700.1",
                                               kind="app_mention"), "EvS40"))
        slack.wait_posts("/api/chat.postMessage")
        running.wait_idle()
    finally:
        running.stop()
    assert "Socket Mode: connected" in caplog.text
    for secret in (SLACK_BOT_TOKEN, APP_TOKEN, "secret-7", "ticket="):
        assert secret not in caplog.text


@pytest.mark.parametrize("which", ["slack_bot_token", "slack_app_token"])
def test_a_token_slack_refuses_stops_the_start_with_the_setting_named(corpus_index, slack,
                                                                      which):
    prefix = "xoxb-" if which == "slack_bot_token" else "xapp-"
    settings = socket_settings(corpus_index, slack, **{which: SecretStr(prefix + "revoked-9")})
    running = SocketBot(settings, corpus_index[1])
    assert running.done.wait(30)
    assert isinstance(running.error, ConfigError)
    assert f"VENDORBAN_{which.upper()}" in str(running.error)
    assert "invalid_auth" in str(running.error) and "revoked-9" not in str(running.error)
    assert slack.connections == 0
    running.stop()


@pytest.mark.parametrize(("bot_token", "app_token", "named"), [
    ("", APP_TOKEN, "VENDORBAN_SLACK_BOT_TOKEN"),
    (SLACK_BOT_TOKEN, "", "VENDORBAN_SLACK_APP_TOKEN"),
    (APP_TOKEN, SLACK_BOT_TOKEN, "VENDORBAN_SLACK_BOT_TOKEN"),  # swapped
    (SLACK_BOT_TOKEN, "xoxp-user-token", "VENDORBAN_SLACK_APP_TOKEN"),
])
def test_missing_or_malformed_tokens_are_named_before_connecting(settings, bot_token, app_token,
                                                                 named):
    bad = settings.model_copy(update={"slack_bot_token": SecretStr(bot_token),
                                      "slack_app_token": SecretStr(app_token)})
    with pytest.raises(ConfigError) as caught:
        require_tokens(bad)
    assert named in str(caught.value)
    for value in (bot_token, app_token):
        if value:
            assert value not in str(caught.value)


def test_the_command_line_names_a_refused_token_before_loading_anything(slack, tmp_path,
                                                                        monkeypatch, capsys):
    from bot.cli import main

    data = tmp_path / "fresh-data"
    for name, value in {"DATA_DIR": str(data), "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
                        "SLACK_APP_TOKEN": "xapp-1-revoked-token-3", "SLACK_API_URL":
                        slack.api_url}.items():
        monkeypatch.setenv(f"VENDORBAN_{name}", value)
    assert main(["slack", "--socket"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: Slack refused VENDORBAN_SLACK_APP_TOKEN (invalid_auth)")
    assert "revoked-token" not in error and SLACK_BOT_TOKEN not in error
    assert slack.connections == 0
    assert not (data / "chroma").exists()  # the empty index was not filled first


def test_the_command_line_without_socket_points_at_serve(capsys):
    from bot.cli import main

    assert main(["slack"]) == 1
    assert "vendorban serve" in capsys.readouterr().err

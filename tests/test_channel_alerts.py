"""Alerts to chat channels: a Slack slash command or a Discord command subscribes the channel it
is used in, and an ingest that adds a document posts to that channel with the bot token (to local
stand-ins of Slack's Web API and Discord's REST API on 127.0.0.1)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from nacl.signing import SigningKey
from pydantic import SecretStr

from ingest import alerts
from ingest.alerts import Subscriptions
from ingest.pipeline import ingest
from tests.conftest import make_settings
from tests.server_support import SLACK_BOT_TOKEN
from tests.test_alerts import write_doc
from tests.test_server_slack import command_body, post_command

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures
DISCORD_TOKEN = "discord-bot-token-for-tests"


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "BACKOFF", 0.05)


def test_a_signed_slack_subscribe_makes_an_ingest_post_to_that_channel(serve, receiver, tmp_path):
    state = tmp_path / "state"
    live = serve(data_dir=state)
    reply = post_command(live, command_body(receiver, "subscribe Ruritania", channel_id="C42"))
    assert reply.status_code == 200
    assert "will be told about new documents about Ruritania" in reply.json()["text"]
    [sub] = Subscriptions(live.services.settings).all()
    assert (sub.platform, sub.channel, sub.country) == ("slack", "C42", "Ruritania")
    listed = post_command(live, command_body(receiver, "subscriptions", channel_id="C42"))
    assert sub.id in listed.json()["text"]

    folder = tmp_path / "news"
    folder.mkdir()
    write_doc(folder, "ruritania", "Ruritania", "Huawei")
    write_doc(folder, "freedonia", "Freedonia", "ZTE", day=2)
    settings = make_settings(state, slack_bot_token=SLACK_BOT_TOKEN, slack_api_url=receiver.url)
    report = ingest([folder], settings, progress=False)
    assert report.alerts_sent == 1 and not report.alerts_failed

    [post] = receiver.wait_for(1)
    assert post["path"] == "/chat.postMessage"
    headers = {k.lower(): v for k, v in post["headers"].items()}
    assert headers["authorization"] == f"Bearer {SLACK_BOT_TOKEN}"
    assert post["json"]["channel"] == "C42" and "documents" not in post["json"]
    assert "1 new document" in post["json"]["text"] and "ruritania" in post["json"]["text"]
    assert "freedonia" not in post["json"]["text"]  # not about the channel's country

    gone = post_command(live, command_body(receiver, "unsubscribe", channel_id="C42"))
    assert "Stopped 1" in gone.json()["text"] and Subscriptions(settings).all() == []


def test_a_slack_post_that_keeps_failing_is_retried_then_reported(receiver, tmp_path):
    settings = make_settings(tmp_path / "state", slack_bot_token=SLACK_BOT_TOKEN,
                             slack_api_url=receiver.url)
    Subscriptions(settings).add_channel("slack", "C7")
    receiver.fail_first = 10
    folder = tmp_path / "news"
    folder.mkdir()
    write_doc(folder, "ruritania", "Ruritania", "Huawei")
    report = ingest([folder], settings, progress=False)
    assert receiver.attempts == alerts.ATTEMPTS
    [failure] = report.alerts_failed
    assert "slack channel C7 not delivered: HTTP 500 after 3 attempts" in failure


def signed(url: str, key: SigningKey, interaction: dict) -> httpx.Response:
    body = json.dumps(interaction).encode()
    stamp = str(int(time.time()))
    return httpx.post(url, content=body, timeout=10, headers={
        "X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex(),
        "X-Signature-Timestamp": stamp, "Content-Type": "application/json"})


def test_a_discord_subscribe_makes_an_ingest_post_to_that_channel(corpus_index, discord_api,
                                                                   tmp_path):
    from bot.discord_bot.http import build_app
    from tests.test_discord_http import serve as serve_app

    key = SigningKey.generate()
    state = tmp_path / "state"
    app = build_app(corpus_index[0].model_copy(update={
        "data_dir": state, "discord_public_key": key.verify_key.encode().hex(),
        "discord_api_url": discord_api.url, "discord_token": SecretStr(DISCORD_TOKEN)}),
        corpus_index[1])  # `vendorban discord --http`, with the bot token for channel posts
    server, thread, base = serve_app(app)
    command = {"type": 2, "id": "8101", "application_id": "5", "token": "tok-subscribe",
               "guild_id": "600", "channel_id": "4242", "channel": {"id": "4242", "type": 0},
               "data": {"name": "subscribe", "options": [{"name": "country", "type": 3,
                                                          "value": "Ruritania"}]},
               "member": {"user": {"id": "31"}}}
    assert signed(f"{base}/discord/interactions", key, command).json() == {
        "type": 5, "data": {"flags": 64}}
    [edit] = discord_api.requests_for("tok-subscribe", 1)
    assert "will be told about new documents about Ruritania" in edit["json"]["content"]

    folder = tmp_path / "news"
    folder.mkdir()
    write_doc(folder, "ruritania", "Ruritania", "Huawei @everyone")
    settings = make_settings(state, discord_token=DISCORD_TOKEN, discord_api_url=discord_api.url)
    report = ingest([folder], settings, progress=False)
    assert report.alerts_sent == 1 and not report.alerts_failed
    [post] = discord_api.requests_for("/channels/4242/messages", 1)
    assert post["method"] == "POST"
    assert post["headers"]["authorization"] == f"Bot {DISCORD_TOKEN}"
    assert post["json"]["allowed_mentions"] == {"parse": []}  # "@everyone" in a title pings no one
    assert "1 new document" in post["json"]["content"]
    assert "<https://example.org/ruritania>" in post["json"]["content"]
    assert len(post["json"]["content"]) <= 2000
    server.should_exit = True
    thread.join(10)


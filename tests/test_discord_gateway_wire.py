"""Gateway commands through discord.py itself: raw interactions in, Discord's REST API stood in for.

The fake-Interaction tests pin our logic; these pin the contract with discord.py: option parsing,
the defer and follow-up requests it really makes, autocomplete and the error route of the tree.
"""

from __future__ import annotations

import asyncio
import itertools
import threading

import aiohttp
import discord
import discord.http
import pytest
from pydantic import SecretStr

from bot.chat.services import Services
from bot.chat.workload import FIRST_GUESS_SECONDS
from bot.discord_bot.gateway import build_client
from tests.discord_helpers import FakeDiscordAPI, limit_violations

APP_ID = "223456789012345678"  # the id the stand-in API reports
_ids = itertools.count(5000)


@pytest.fixture(scope="module")
def discord_api():
    server = FakeDiscordAPI()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(corpus_index, discord_api, monkeypatch):
    monkeypatch.setattr(discord.http.Route, "BASE", discord_api.url)
    settings = corpus_index[0].model_copy(update={"rate_limit_per_minute": 1})
    return build_client(Services(settings, corpus_index[1]))


def raw_interaction(name: str, options: list[dict], kind: int = 2, user: str = "42") -> dict:
    return {"id": str(next(_ids)), "application_id": APP_ID, "type": kind,
            "token": f"wire-{next(_ids)}", "version": 1, "attachment_size_limit": 8_000_000,
            "channel_id": "800", "locale": "en-US", "app_permissions": "0",
            "user": {"id": user, "username": "tester", "discriminator": "0", "avatar": None},
            "data": {"id": "1", "name": name, "type": 1, "options": options}}


def invoke(client: discord.Client, raw: dict) -> None:
    """Run one raw interaction through the client's CommandTree, as the gateway would."""
    async def go() -> None:
        session = aiohttp.ClientSession()
        client.http._HTTPClient__session = session  # what login() would have set up
        try:
            await client.tree._call(discord.Interaction(data=raw, state=client._connection))
        finally:
            await session.close()

    asyncio.run(go())


def option(name: str, value: object, kind: int = 3, **extra: object) -> dict:
    return {"name": name, "type": kind, "value": value, **extra}


def test_ask_through_discord_py_defers_then_posts_the_cited_embed(client, discord_api):
    raw = raw_interaction("ask", [option("question", "What did Suga say?")])
    invoke(client, raw)
    defer, followup = discord_api.requests_for(raw["token"], 2)
    assert defer["path"].startswith(f"/api/v10/interactions/{raw['id']}/{raw['token']}/callback")
    assert defer["json"]["type"] == 5 and not (defer["json"].get("data") or {}).get("flags")
    assert followup["method"] == "POST"
    assert followup["path"].startswith(f"/api/v10/webhooks/{APP_ID}/{raw['token']}")
    body = followup["json"]
    assert body["allowed_mentions"] == {"parse": []}
    assert not body.get("flags")
    assert limit_violations({"content": body.get("content") or "", "embeds": body["embeds"],
                             "allowed_mentions": body["allowed_mentions"]}) == []
    embed = body["embeds"][0]
    assert "Cybersecurity is becoming an important issue in Japan" in embed["description"]
    assert any("](https://www.japantimes.co.jp/" in f["value"] for f in embed["fields"])


def test_private_ask_is_deferred_and_followed_up_ephemeral(client, discord_api):
    raw = raw_interaction("ask", [option("question", "What did BT announce?"),
                                  option("private", True, kind=5)], user="43")
    invoke(client, raw)
    defer, followup = discord_api.requests_for(raw["token"], 2)
    assert defer["json"] == {"type": 5, "data": {"flags": 64}}
    assert followup["json"]["flags"] == 64


def test_autocomplete_through_discord_py_returns_choices(client, discord_api):
    raw = raw_interaction("quote", [option("speaker", "geng", focused=True)], kind=4)
    invoke(client, raw)
    [answer] = discord_api.requests_for(raw["token"], 1)
    assert answer["json"] == {"type": 8, "data": {"choices": [{"name": "Geng Shuang",
                                                              "value": "Geng Shuang"}]}}


def test_sources_page_option_arrives_as_an_integer(client, discord_api):
    raw = raw_interaction("sources", [option("page", 2, kind=4)], user="44")
    invoke(client, raw)
    _, followup = discord_api.requests_for(raw["token"], 2)
    assert followup["json"]["embeds"][0]["footer"]["text"].startswith("Page 2 of ")


def test_a_failing_follow_up_is_reported_through_the_tree_error_handler(client, discord_api,
                                                                        caplog):
    discord_api.fail_next = 0
    raw = raw_interaction("about", [], user="45")
    original = discord.Webhook.send

    async def broken_send(*args, **kwargs):  # the follow-up fails on Discord's side
        if kwargs.get("embeds"):
            raise RuntimeError("follow-up exploded")
        return await original(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(discord.Webhook, "send", broken_send)
        invoke(client, raw)
    requests = discord_api.requests_for(raw["token"], 2)
    assert requests[-1]["json"]["content"].startswith("Sorry, something went wrong")
    assert requests[-1]["json"]["flags"] == 64
    assert any("discord command failed" in r.getMessage() for r in caplog.records)


def test_over_the_shared_rate_limit_discord_py_answers_at_once_and_privately(client,
                                                                            discord_api):
    first = raw_interaction("about", [], user="46")
    invoke(client, first)
    second = raw_interaction("sources", [], user="46")
    invoke(client, second)
    [refusal] = discord_api.requests_for(second["token"], 1)
    assert refusal["json"]["type"] == 4  # answered at once: no defer, no core work
    assert refusal["json"]["data"]["flags"] == 64
    assert "try again in 60 s" in refusal["json"]["data"]["content"]


@pytest.mark.parametrize("guild", ["", "31337"])
def test_sync_registers_the_commands_to_the_guild_or_globally(client, corpus_index,
                                                                   discord_api, guild):
    from bot.discord_bot.gateway import sync_commands

    settings = corpus_index[0].model_copy(update={"discord_token": SecretStr("test-token"),
                                                  "discord_guild_id": guild})
    names, target = asyncio.run(sync_commands(Services(settings, corpus_index[1])))
    assert sorted(names) == ["about", "ask", "quote", "sources", "subscribe", "unsubscribe"]
    path = f"/api/v10/applications/{APP_ID}/" + (f"guilds/{guild}/commands" if guild else
                                                 "commands")
    [put] = discord_api.requests_for(path, 1)
    assert put["method"] == "PUT" and sorted(c["name"] for c in put["json"]) == sorted(names)
    assert (guild in target) if guild else ("global" in target)


@pytest.fixture
def voting_client(corpus_index, discord_api, monkeypatch):
    monkeypatch.setattr(discord.http.Route, "BASE", discord_api.url)
    return lambda: build_client(Services(corpus_index[0], corpus_index[1]))


def press(client: discord.Client, raw: dict) -> None:
    """Deliver a raw button press as the gateway's INTERACTION_CREATE would, and let it run."""
    async def go() -> None:
        session = aiohttp.ClientSession()
        client.http._HTTPClient__session = session
        try:
            client._connection.parse_interaction_create(raw)
            # The button's callback runs as a task (and may start others): wait for them all.
            while pending := asyncio.all_tasks() - {asyncio.current_task()}:
                _, late = await asyncio.wait(pending, timeout=30)
                assert not late, f"the interaction's tasks did not finish: {late}"
        finally:
            await session.close()

    asyncio.run(go())


def button_press(custom_id: str, message: dict, user: str = "44") -> dict:
    raw = raw_interaction("ask", [], kind=3, user=user)
    return raw | {"data": {"custom_id": custom_id, "component_type": 2},
                  "message": message}


def test_gateway_answers_carry_vote_buttons_and_a_press_after_a_restart_records_and_updates(
        voting_client, discord_api, corpus_index):
    from bot.core.usage import UsageLog

    raw = raw_interaction("ask", [option("question", "What did Suga say?")], user="45")
    invoke(voting_client(), raw)
    _, followup = discord_api.requests_for(raw["token"], 2)
    [row] = followup["json"]["components"]
    ids = [b["custom_id"] for b in row["components"]]
    answer_id = ids[0].removeprefix("vote:up:")
    assert ids == [f"vote:up:{answer_id}", f"vote:down:{answer_id}"]
    message = {"id": "900", "channel_id": "800", "type": 0, "content": "", "embeds": [],
               "attachments": [], "timestamp": "2024-01-01T00:00:00+00:00",
               "edited_timestamp": None, "mentions": [], "mention_roles": [], "pinned": False,
               "mention_everyone": False, "tts": False, "flags": 0,
               "author": {"id": "700", "username": "vendorban", "discriminator": "0",
                          "avatar": None}, "components": followup["json"]["components"]}
    pressed = button_press(f"vote:up:{answer_id}", message)
    restarted = voting_client()  # a new process: the buttons are matched by their custom_id
    press(restarted, pressed)
    [update] = discord_api.requests_for(pressed["token"], 1)
    assert update["path"].startswith(f"/api/v10/interactions/{pressed['id']}/")
    assert update["json"]["type"] == 7
    assert update["json"]["data"]["components"] == []
    assert "Thanks for your vote" in update["json"]["data"]["content"]
    votes = [v for v in UsageLog(corpus_index[0]).votes() if v.answer_id == answer_id]
    assert [(v.vote, v.platform) for v in votes] == [("up", "discord")]
    unknown = button_press(f"vote:down:{'0' * 32}", message | {
        "components": [{"type": 1, "components": [{"type": 2, "style": 4, "label": "x",
                                                   "custom_id": f"vote:down:{'0' * 32}"}]}]})
    press(restarted, unknown)
    [told] = discord_api.requests_for(unknown["token"], 1)
    assert told["json"]["type"] == 4 and told["json"]["data"]["flags"] == 64
    assert "no longer on record" in told["json"]["data"]["content"]


def test_gateway_core_work_runs_in_the_services_bounded_pool(corpus_index, discord_api,
                                                             monkeypatch):
    monkeypatch.setattr(discord.http.Route, "BASE", discord_api.url)
    services = Services(corpus_index[0], corpus_index[1])
    threads: dict[str, str] = {}
    real_ask, real_speakers = services.assistant.ask, services.assistant.speakers

    def ask(*args, **kwargs):
        threads["ask"] = threading.current_thread().name
        return real_ask(*args, **kwargs)

    def speakers(*args, **kwargs):
        threads["speakers"] = threading.current_thread().name
        return real_speakers(*args, **kwargs)

    monkeypatch.setattr(services.assistant, "ask", ask)
    monkeypatch.setattr(services.assistant, "speakers", speakers)
    client = build_client(services)
    raw = raw_interaction("ask", [option("question", "What did Suga say?")], user="48")
    invoke(client, raw)
    assert len(discord_api.requests_for(raw["token"], 2)) == 2
    complete = raw_interaction("quote", [option("speaker", "geng", focused=True)], kind=4)
    invoke(client, complete)
    assert discord_api.requests_for(complete["token"], 1)
    # the same pools the HTTP server's Slack, Mattermost and API answers run on
    assert threads["ask"].startswith("vendorban-core")
    assert threads["speakers"].startswith("vendorban-side")
    assert services.workload.seconds_per_job != FIRST_GUESS_SECONDS  # timed by the workload

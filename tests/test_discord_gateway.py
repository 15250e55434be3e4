"""Gateway commands: driven with a fake Interaction over the real index (real model, real
Chroma)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading

import pytest
from discord import app_commands

from bot.chat.services import Services
from bot.discord_bot.gateway import build_client, make_commands, on_tree_error
from tests.conftest import make_settings
from tests.discord_helpers import FakeInteraction, limit_violations

SUGA_WORDS = "Cybersecurity is becoming an important issue in Japan"
JAPAN_TIMES = "https://www.japantimes.co.jp/news/2018/12/10/business/"


def services_for(assistant, per_minute: int = 1000) -> Services:
    settings = assistant.settings.model_copy(update={"rate_limit_per_minute": per_minute})
    return Services(settings, assistant)


def commands_for(assistant, per_minute: int = 1000) -> dict:
    return {c.name: c for c in make_commands(services_for(assistant, per_minute))}


def run(coro):
    return asyncio.run(coro)


def test_ask_defers_first_then_follows_up_with_the_cited_embed(assistant):
    interaction = FakeInteraction()
    run(commands_for(assistant)["ask"].callback(interaction, question="What did Suga say?"))
    assert interaction.kinds == ["defer", "followup"]
    assert interaction.calls[0][1] == {"ephemeral": False, "thinking": True}
    assert interaction.calls[1][1]["ephemeral"] is False
    payload = interaction.payload()
    assert limit_violations(payload) == []
    embed = payload["embeds"][0]
    assert embed["title"] == "What did Suga say?"
    assert SUGA_WORDS in embed["description"] and "[1]" in embed["description"]
    names = [f["name"] for f in embed["fields"]]
    assert names[0].startswith("[1] ") and any("The Japan Times" in n for n in names)
    assert any(f"]({JAPAN_TIMES}" in f["value"] for f in embed["fields"])  # a real source link


def test_private_ask_is_ephemeral_from_the_defer_on(assistant):
    interaction = FakeInteraction()
    run(commands_for(assistant)["ask"].callback(interaction, question="What did BT announce?",
                                                private=True))
    assert interaction.calls[0] == ("defer", {"ephemeral": True, "thinking": True})
    assert interaction.calls[1][1]["ephemeral"] is True


def test_quote_gives_the_speakers_words_with_sources(assistant):
    interaction = FakeInteraction()
    run(commands_for(assistant)["quote"].callback(interaction, speaker="Geng Shuang"))
    embed = interaction.payload()["embeds"][0]
    assert "fair competition environment for Chinese companies" in embed["description"]
    assert embed["fields"] and interaction.kinds == ["defer", "followup"]


def test_speaker_autocomplete_offers_known_speakers_filtered(assistant):
    quote = commands_for(assistant)["quote"]
    complete = quote._params["speaker"].autocomplete
    choices = run(complete(FakeInteraction(), "sug"))
    assert [c.value for c in choices] == ["Yoshihide Suga"]
    everyone = run(complete(FakeInteraction(), ""))
    assert 1 < len(everyone) <= 25 and all(len(c.name) <= 100 for c in everyone)


def test_the_shared_rate_limit_is_a_discord_py_check_answered_ephemerally(assistant):
    services = services_for(assistant, per_minute=1)
    cmds = {c.name: c for c in make_commands(services)}
    assert all(len(c.checks) == 1 for c in cmds.values())
    assert cmds["ask"].checks[0](FakeInteraction(user_id=7))
    again = FakeInteraction(user_id=7)
    with pytest.raises(app_commands.CommandOnCooldown) as over:
        cmds["quote"].checks[0](again)  # one budget per user, whatever the command
    assert 59 <= over.value.retry_after <= 60
    run(on_tree_error(again, over.value))  # what discord.py does with a failed check
    assert again.kinds == ["send_message"]
    sent = again.calls[0][1]
    assert sent["ephemeral"] is True and "try again in 60 s" in sent["content"]
    assert cmds["ask"].checks[0](FakeInteraction(user_id=8))
    # the limiter is the one Slack and Mattermost use: its key is taken for this user
    assert services.limiter.waiting("discord::7") > 0


def test_sources_pages_and_about_counts_the_index(assistant):
    cmds = commands_for(assistant)
    first, second = FakeInteraction(), FakeInteraction()
    run(cmds["sources"].callback(first))
    run(cmds["sources"].callback(second, page=2))
    one, two = first.payload()["embeds"][0], second.payload()["embeds"][0]
    total = len(assistant.sources())
    pages = -(-total // 10)
    assert total > 20 and pages >= 2
    assert one["footer"]["text"].startswith(f"Page 1 of {pages} · {total} document(s)")
    assert two["footer"]["text"].startswith(f"Page 2 of {pages}")
    assert one["description"] != two["description"]
    assert first.calls[0][1]["ephemeral"] is True
    about = FakeInteraction()
    run(cmds["about"].callback(about))
    fields = {f["name"]: f["value"] for f in about.payload()["embeds"][0]["fields"]}
    assert fields["Documents"] == str(total) and int(fields["Chunks"]) >= total
    assert about.kinds == ["defer", "followup"]


def test_an_empty_index_is_explained_privately_after_the_public_defer(tmp_path):
    from bot.core.assistant import Assistant

    interaction = FakeInteraction()
    empty = Assistant(make_settings(tmp_path / "empty"))
    run(commands_for(empty)["ask"].callback(interaction, question="What did Suga say?"))
    assert interaction.kinds == ["defer", "delete_original", "followup"]
    sent = interaction.calls[-1][1]
    assert sent["ephemeral"] is True and "vendorban ingest" in sent["content"]


def test_unexpected_errors_are_logged_with_traceback_and_shown_briefly(assistant, monkeypatch,
                                                                       caplog):
    def explode(*args, **kwargs):
        raise RuntimeError("internal detail 0xdeadbeef")

    monkeypatch.setattr(assistant, "ask", explode)
    interaction = FakeInteraction()
    with caplog.at_level(logging.ERROR):
        run(commands_for(assistant)["ask"].callback(interaction, question="What did Suga say?"))
    sent = interaction.calls[-1][1]
    assert sent["ephemeral"] is True and "something went wrong" in sent["content"]
    assert "0xdeadbeef" not in sent["content"]
    assert any(r.exc_info and "0xdeadbeef" in str(r.exc_info[1]) for r in caplog.records)


MENTION_DOC = """---
title: "Ruritania bans Huawei @everyone"
url: https://news.example/ruritania
outlet: "<@&424242> Gazette"
published: 2021-03-04
kind: article
speakers: [Jane Doe]
countries: [Ruritania]
vendors: [Huawei]
---
Ruritania banned Huawei equipment from its 5G networks in March 2021, a decision @everyone in \
the cabinet backed. Jane Doe said: "This ban protects @here and <@&424242> and <@99> from risk."
"""


def test_mentions_in_a_passage_ping_no_one(tmp_path):
    from bot.core.assistant import Assistant
    from ingest.pipeline import ingest

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ruritania.md").write_text(MENTION_DOC, encoding="utf-8")
    settings = make_settings(tmp_path / "data")
    assert not ingest([corpus], settings, progress=False).failed
    interaction = FakeInteraction()
    run(commands_for(Assistant(settings))["quote"].callback(interaction, speaker="Jane Doe"))
    payload = interaction.payload()
    assert payload["allowed_mentions"] == {"parse": []}  # discord.AllowedMentions.none()
    text = json.dumps(payload["embeds"], ensure_ascii=False)
    # Markdown escaped too (json.dumps doubles each backslash)
    assert "protects @\u200bhere and \\\\<@\u200b&424242\\\\> and \\\\<@\u200b99\\\\>" in text
    for mention in ("@everyone", "@here", "<@&424242>", "<@99>"):
        assert mention not in text


def test_the_event_loop_keeps_ticking_while_an_answer_is_computed(assistant, monkeypatch):
    real_ask = assistant.ask
    asking, ticked = threading.Event(), threading.Event()
    loop_ran: list[bool] = []

    def waiting_ask(*args, **kwargs):
        asking.set()
        # Run on the loop's own thread, this would block the ticker: `ticked` would never be set.
        loop_ran.append(ticked.wait(20))
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(assistant, "ask", waiting_ask)

    async def scenario() -> None:
        async def ticker() -> None:  # resumes on the loop once the answer has started
            await asyncio.to_thread(asking.wait, 20)
            ticked.set()

        task = asyncio.create_task(ticker())
        await commands_for(assistant)["ask"].callback(FakeInteraction(), question="What did BT "
                                                                                   "announce?")
        await task

    run(scenario())
    assert loop_ran == [True]


def test_the_client_needs_no_privileged_intents_and_registers_six_commands(settings):
    client = build_client(Services(settings, assistant=None))
    assert not (client.intents.members or client.intents.presences or
                client.intents.message_content)
    assert sorted(c.name for c in client.tree.get_commands()) == [
        "about", "ask", "quote", "sources", "subscribe", "unsubscribe"]
    for c in client.tree.get_commands():
        data = c.to_dict(client.tree)
        assert 1 <= len(data["description"]) <= 100
        assert all(1 <= len(o["description"]) <= 100 for o in data["options"])


@pytest.mark.parametrize("argv, setting", [(["discord"], "VENDORBAN_DISCORD_TOKEN"),
                                           (["discord", "--sync"], "VENDORBAN_DISCORD_TOKEN"),
                                           (["discord", "--http"], "VENDORBAN_DISCORD_PUBLIC_KEY")])
def test_cli_without_credentials_names_the_setting_and_fails(argv, setting, capsys):
    from bot.cli import main

    assert main(argv) == 1
    assert setting in capsys.readouterr().err

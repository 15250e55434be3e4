"""Structured answers: each kind's items carry their own citations, speaker, date and label, and
the CLI and the API return them (real model, real Chroma, real HTTP)."""

from __future__ import annotations

import json
import shutil

import httpx

from bot.cli import main
from bot.core.types import NOT_FOUND
from bot.render.data import answer_to_dict
from bot.render.text import answer_text

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures
ITEM_FIELDS = {"text", "citations", "speaker", "role", "date", "label"}


def cited_once_each(answer) -> bool:
    """Every item cites a listed source, and every listed source is cited by an item."""
    numbers = {c.number for c in answer.citations}
    used = {n for item in answer.items for n in item.citations}
    return all(item.citations for item in answer.items) and used == numbers


def test_a_speaker_answer_names_the_speaker_and_dates_each_item(assistant):
    answer = assistant.ask("What did Suga say?")
    assert answer.kind == "speaker" and cited_once_each(answer)
    assert {item.speaker for item in answer.items} == {"Yoshihide Suga"}
    published = {c.number: c.published for c in answer.citations}
    assert all(item.date == published[item.citations[0]] for item in answer.items)
    assert all(item.text in c.passage for item in answer.items for c in answer.citations
               if c.number in item.citations)  # the speaker's own sentences, verbatim
    assert answer_text(answer).startswith("What Yoshihide Suga")


def test_a_country_list_labels_each_item_with_its_country(assistant):
    answer = assistant.ask("Which countries have restricted Huawei?")
    assert answer.kind == "list" and cited_once_each(answer)
    labels = [item.label for item in answer.items]
    assert len(labels) >= 4 and len(set(labels)) == len(labels)
    assert "United Kingdom" in labels or "Japan" in labels
    assert answer_text(answer).splitlines() == [
        f"- {item.label}: {item.text} [{item.citations[0]}]" for item in answer.items]


def test_a_measures_list_is_a_timeline_labelled_by_date_oldest_first(assistant):
    answer = assistant.ask("What measures did the UK take against Huawei?")
    assert answer.kind == "timeline" and cited_once_each(answer)
    dates = [item.date for item in answer.items if item.date]
    assert len(dates) >= 3 and dates == sorted(dates)
    assert [item.date or "undated" for item in answer.items] == [i.label for i in answer.items]


def test_a_people_list_gives_each_item_its_speaker(assistant):
    answer = assistant.ask("Which spokespeople commented on Huawei?")
    assert answer.kind == "list" and cited_once_each(answer)
    assert all(item.speaker and item.label == item.speaker for item in answer.items)


def test_a_fact_answer_is_sentences_each_with_its_citation(assistant):
    answer = assistant.ask("Why did Sweden exclude Huawei from 5G?")
    assert answer.kind == "fact" and cited_once_each(answer)
    assert all(not (item.speaker or item.label) for item in answer.items)
    passages = {c.number: c.passage for c in answer.citations}
    assert all(item.text in passages[item.citations[0]] for item in answer.items)


def test_not_found_is_one_item_without_citations(assistant):
    answer = assistant.ask("Who won the 2018 World Cup?")
    assert answer.kind == "not_found" and not answer.found
    assert [(item.text, item.citations) for item in answer.items] == [(NOT_FOUND, ())]
    assert answer.citations == []


def test_the_json_form_has_the_kind_the_items_and_the_same_text(assistant):
    answer = assistant.ask("What did Suga say?")
    data = answer_to_dict(answer)
    assert data["kind"] == "speaker" and data["answer"] == answer_text(answer)
    assert data["heading"] == answer_text(answer).splitlines()[0]
    assert [set(item) for item in data["items"]] == [ITEM_FIELDS] * len(answer.items)
    assert data["items"][0]["speaker"] == "Yoshihide Suga"
    assert data["items"][0]["citations"] == list(answer.items[0].citations)


def test_cli_ask_json_returns_items_and_kind(corpus_index, tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(corpus_index[0].data_dir, data, ignore=shutil.ignore_patterns("usage.*"))
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(data))
    capsys.readouterr()
    assert main(["ask", "Which countries have restricted Huawei?", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "list" and out["answer_id"]
    numbers = {c["number"] for c in out["citations"]}
    for item in out["items"]:
        assert set(item) == ITEM_FIELDS and item["label"] and set(item["citations"]) <= numbers
        assert f"- {item['label']}: {item['text']}" in out["answer"]


def test_api_ask_returns_items_and_kind(serve):
    live = serve()
    data = httpx.post(f"{live.url}/api/ask", json={"question": "What did Geng Shuang say?"},
                      timeout=30).json()
    assert data["kind"] == "speaker" and data["heading"].startswith("What Geng Shuang")
    assert {item["speaker"] for item in data["items"]} == {"Geng Shuang"}
    assert all(set(item) == ITEM_FIELDS and item["citations"] for item in data["items"])
    missing = httpx.post(f"{live.url}/api/ask", json={"question": "Who won the 2018 World Cup?"},
                         timeout=30).json()
    assert missing["kind"] == "not_found" and missing["items"][0]["text"] == NOT_FOUND
    schema = httpx.get(f"{live.url}/openapi.json").json()["components"]["schemas"]
    assert {"kind", "items", "heading"} <= set(schema["AskResponse"]["properties"])

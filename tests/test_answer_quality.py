"""Answer shapes: lists per country, direct answers first, abstention on near misses."""

from __future__ import annotations

import pytest

from bot.core.answer import DATE
from bot.core.types import NOT_FOUND
from bot.render.text import answer_text


def test_which_countries_is_answered_one_line_per_country_each_cited(assistant):
    answer = assistant.ask("Which countries have restricted Huawei?")
    assert answer.kind == "list" and len(answer.items) >= 4
    labels = [item.label for item in answer.items]
    assert len(labels) == len(set(labels)) and "China" not in labels
    assert all(len(item.citations) == 1 for item in answer.items)


def test_a_regional_list_keeps_to_the_region(assistant):
    answer = assistant.ask("Which European countries have restricted Huawei?")
    labels = {item.label for item in answer.items}
    assert labels and not labels & {"Australia", "Japan", "Canada", "United States", "India"}


@pytest.mark.parametrize("question", ["When did Australia shut Huawei out of 5G?",
                                      "What deadline did Canada set for removing Huawei 5G gear?"])
def test_when_and_deadline_questions_lead_with_a_date(assistant, question):
    answer = assistant.ask(question)
    first = answer.items[0].text
    assert answer.found and DATE.search(first), first


def test_why_questions_lead_with_the_reason(assistant):
    answer = assistant.ask("Why did Sweden exclude Huawei from 5G?")
    assert answer.found
    assert "influence of the Chinese government" in answer.items[0].text, answer_text(answer)


@pytest.mark.parametrize("question", [
    "When did Brazil ban Huawei?",
    "did the netherlands kick huawei out of 5g?",
    "What did Rishi Sunak say about Huawei?",
    "What did Ericsson say about the ban?",
    "How do I factory reset my Huawei phone?",
])
def test_real_events_the_corpus_does_not_cover_are_not_answered(assistant, question):
    answer = assistant.ask(question)
    assert not answer.found and answer_text(answer) == NOT_FOUND


def test_a_latest_question_prefers_the_newest_sources(assistant):
    answer = assistant.ask("What is the latest on Germany and Huawei?")
    assert answer.found
    assert max(c.published for c in answer.citations) >= "2024"


def test_quotes_stay_with_their_speaker_across_documents(assistant):
    answer = assistant.ask("What did Geng Shuang say about the FCC?")
    assert answer.kind == "speaker"
    assert {item.speaker for item in answer.items} == {"Geng Shuang"}
    assert answer_text(answer).startswith("What Geng Shuang (")
    for quote in answer.quotes:
        assert quote.speaker == "Geng Shuang"
        assert any(quote.text in c.passage for c in answer.citations)

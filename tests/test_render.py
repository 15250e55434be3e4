"""The presentation layer: text, JSON and every chat renderer built from answer items.

`snapshots/render_answers.json` holds what the renderers produced for these answers before
answers were structured (when the answerer wrote the text with its [n] markers itself); the
renderers built from items must produce exactly the same payloads.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.chat.dispatch import Reply
from bot.core.types import NOT_FOUND, Answer, AnswerItem, Citation
from bot.discord_bot import render as discord
from bot.render.data import answer_to_dict
from bot.render.text import answer_parts, answer_text, render_text
from bot.server import render_markdown, render_slack

SNAPSHOTS = json.loads((Path(__file__).parent / "snapshots" / "render_answers.json")
                       .read_text(encoding="utf-8"))


def cite(n, url="", page=None, also=(), published="2020-07-14", outlet="Reuters <b>",
         title="UK bans *Huawei* @here"):
    return Citation(number=n, doc_id=f"d{n}", chunk_id=f"c{n}", title=title, outlet=outlet,
                    published=published, url=url, source=f"corpus/doc{n}.md",
                    passage=f"Passage {n} <@U1> text.", start=10 * n, end=10 * n + 5,
                    page=page, also_in=[{"outlet": a, "title": a} for a in also])


CITES = [cite(1, "https://example.org/a?x=1&y=2", None, ("BBC",)),
         cite(2, "", 3, (), "", "", ""),
         cite(3, "https://example.org/c (1)", None, (), "2019-05", "Kyodo", "Japan [bars] them")]
LONG = [(f"Sentence number {i} says something rather long about the bans and <@U{i}> the "
         f"ministers in *charge* of them, again and again.", [i % 3 + 1], "", "", "", "")
        for i in range(1, 80)]
SUGA = ("Yoshihide Suga", "Chief Cabinet Secretary")
# name, question, kind, items as (text, citations, speaker, role, date, label)
SAMPLES = [
    ("fact", "Why did the UK ban Huawei? @here", "fact",
     [("The UK banned Huawei over *security* concerns <@U123>.", [1], "", "", "", ""),
      ("Operators must remove [gear](https://evil.example) by 2027.", [2], "", "", "", "")]),
    ("dated", "What happened in 2019 and 2020?", "fact",
     [("Japan barred them.", [3], "", "", "2019-05", ""),
      ("The UK barred them too.", [1], "", "", "2020-07-14", ""),
      ("Someone said so.", [2], "", "", "", "")]),
    ("countries", "Which countries banned Huawei?", "list",
     [("The UK banned Huawei in 2020.", [1], "", "", "", "United Kingdom"),
      ("Japan barred them & more.", [3], "", "", "", "Japan")]),
    ("measures", "What measures did the UK take?", "timeline",
     [("An early measure.", [3], "", "", "2019-05", "2019-05"),
      ("The UK banned Huawei.", [1], "", "", "2020-07-14", "2020-07-14"),
      ("Undated measure.", [2], "", "", "", "undated")]),
    ("speaker", "What did Suga say?", "speaker",
     [("Suga said: “Cybersecurity is becoming an important issue in Japan.”", [1], *SUGA,
       "2020-07-14", ""),
      ("He added more <@U9>.", [2], *SUGA, "", "")]),
    ("speaker_norole", "What did Jane Doe say?", "speaker",
     [("Jane Doe said it was fine.", [1], "Jane Doe", "", "2020-07-14", "")]),
    ("people", "Which spokespeople commented?", "list",
     [("Wu Ken said Germany must decide.", [1], "Wu Ken", "", "", "Wu Ken"),
      ("Geng Shuang said it was unfair.", [3], "Geng Shuang", "", "", "Geng Shuang")]),
    ("llm", "Why did the UK ban Huawei?", "fact",
     [("The UK banned Huawei over security concerns.", [1, 2], "", "", "", ""),
      ("Operators must remove gear by 2027.", [2], "", "", "", "")]),
    ("not_found", "Who won the 2018 World Cup?", "not_found",
     [(NOT_FOUND, [], "", "", "", "")]),
    ("unknown_country", "Did Narnia ban Huawei?", "not_found",
     [("No document in the corpus is about the country 'Narnia'. Countries it covers: "
       "Japan, United Kingdom.", [], "", "", "", "")]),
    ("long", "Tell me everything", "fact", LONG),
]


def build(question: str, kind: str, items: list) -> Answer:
    used = {n for _, numbers, *_ in items for n in numbers}
    return Answer(question, kind, [AnswerItem(t, tuple(n), s, r, d, lb)
                                   for t, n, s, r, d, lb in items],
                  [c for c in CITES if c.number in used])


def rendered(answer: Answer) -> dict:
    reply = Reply("answer", answer=answer, answer_id="abc123", public=True)
    payloads = {"text": render_text(answer), "answer": answer_to_dict(answer)["answer"],
                "slack": render_slack.render(reply), "mattermost": render_markdown.render(reply),
                "discord": discord.with_vote_buttons(discord.render_answer(answer), "abc123")}
    return json.loads(json.dumps(payloads))  # tuples and lists compare as the JSON they become


@pytest.mark.parametrize(("name", "question", "kind", "items"), SAMPLES,
                         ids=[s[0] for s in SAMPLES])
def test_every_renderer_gives_what_it_gave_before_answers_had_items(name, question, kind, items):
    assert rendered(build(question, kind, items)) == SNAPSHOTS[name]


def test_the_snapshot_covers_a_discord_answer_cut_to_fit():
    description = SNAPSHOTS["long"]["discord"]["embeds"][0]["description"]
    assert description.endswith(discord.SHORTENED_NOTE)


def test_a_speaker_answer_has_a_heading_then_one_line_per_item_with_its_date():
    answer = build(*SAMPLES[4][1:])
    assert answer_text(answer).splitlines() == [
        "What Yoshihide Suga (Chief Cabinet Secretary) said, according to the corpus:",
        "- Suga said: “Cybersecurity is becoming an important issue in Japan.” [1] (2020-07-14)",
        "- He added more <@U9>. [2]"]
    assert answer_parts(answer)[0] == (answer_text(answer).splitlines()[0], ())


def test_prose_shows_dates_only_when_its_sentences_differ_in_date():
    one_date = build("Q?", "fact", [("A.", [1], "", "", "2020", ""),
                                    ("B.", [2], "", "", "2020", "")])
    assert answer_text(one_date) == "A. [1] B. [2]"
    assert answer_text(build(*SAMPLES[1][1:])).startswith("(2019-05) Japan barred them. [3] ")


def test_discord_lists_only_the_sources_of_the_items_it_kept():
    items = [(f"{'Long sentence about the ban. ' * 12}number {i}.", [1], "", "", "", "")
             for i in range(12)] + [("The last one cites another source.", [3], "", "", "", "")]
    embed = discord.render_answer(build("Q?", "fact", items))["embeds"][0]
    assert embed["description"].endswith(discord.SHORTENED_NOTE)
    assert [f["name"].split(" ")[0] for f in embed["fields"]] == ["[1]"]
    assert "1 not listed here" in embed["footer"]["text"]

"""The Discord renderer: cited embeds that always fit Discord's limits and ping no one."""

from __future__ import annotations

import itertools
import re

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from bot.core.types import NOT_FOUND, Answer, Citation
from bot.discord_bot import render
from tests.answer_helpers import not_found, prose
from tests.discord_helpers import limit_violations, u16


def citation(n: int, title: str = "Title", outlet: str = "Reuters", url: str = "",
             published: str = "2020-01-01", source: str = "corpus/x.md") -> Citation:
    return Citation(number=n, doc_id=f"d{n}", chunk_id=f"c{n}", title=title, outlet=outlet,
                    published=published, url=url, source=source, passage="p", start=0, end=1)


def answer(text: str, citations: list[Citation], question: str = "Q?") -> Answer:
    return prose(text, citations, question)


def test_answer_embed_has_markers_then_numbered_linked_sources():
    a = answer("Japan barred them. [1] Sweden too. [2]",
               [citation(1, "Japan bars", "Kyodo", "https://x.example/a"),
                citation(2, "Sweden bars", "PTS", "https://x.example/b (1)", "2020-10-20")])
    embed = render.render_answer(a)["embeds"][0]
    assert embed["description"] == "Japan barred them. [1] Sweden too. [2]"
    names = [f["name"] for f in embed["fields"]]
    assert names == ["[1] Kyodo · 2020-01-01", "[2] PTS · 2020-10-20"]
    assert embed["fields"][0]["value"] == "[Japan bars](https://x.example/a)"
    assert embed["fields"][1]["value"] == "[Sweden bars](https://x.example/b%20%281%29)"


def test_sources_without_a_web_link_show_title_and_file_not_a_broken_link():
    embed = render.render_answer(answer("A. [1]", [citation(1, "T [x]", "", "", "")]))["embeds"][0]
    assert embed["fields"][0] == {"name": "[1] Unknown outlet · undated",
                                  "value": "T \\[x\\] (x.md)", "inline": False}


def test_mentions_in_passages_titles_and_questions_are_broken():
    a = answer("Hi @everyone and @here and <@&123> and <@42>. [1]",
               [citation(1, "@everyone title", "<@&9>")], question="@here?")
    payload = render.render_answer(a)
    text = str(payload)
    assert not re.search(r"@(everyone|here)|<@&?\d", text.replace("\\u200b", "\u200b"))
    assert "@\u200beveryone" in payload["embeds"][0]["description"]
    assert payload["allowed_mentions"] == {"parse": []}


def test_long_answer_is_cut_after_a_whole_sentence_with_its_marker_and_a_note():
    sentences = [f"Sentence number {i} says something rather long about the bans. [{i % 3 + 1}]"
                 for i in range(200)]
    a = answer(" ".join(sentences), [citation(n) for n in (1, 2, 3)])
    embed = render.render_answer(a)["embeds"][0]
    body, note = embed["description"].split(render.SHORTENED_NOTE.strip("\n"), 1)[0], \
        render.SHORTENED_NOTE
    assert embed["description"].endswith(note)
    assert re.search(r"bans\. \[\d\]\s*$", body)  # ends on a sentence and keeps its marker
    assert len(embed["description"]) <= render.DESCRIPTION_MAX
    assert not limit_violations(render.render_answer(a))


def test_not_found_answer_has_no_sources():
    a = not_found("Who won?")
    embed = render.render_answer(a)["embeds"][0]
    assert embed["description"] == NOT_FOUND and "fields" not in embed


def test_many_sources_are_counted_in_the_footer_when_not_all_listed():
    cites = [citation(n, "T" * 300, "O" * 300, "https://e.example/" + "u" * 400) for n in
             range(1, 41)]
    payload = render.render_answer(answer(" ".join(f"S{n}. [{n}]" for n in range(1, 41)), cites))
    embed = payload["embeds"][0]
    assert len(embed["fields"]) <= render.SOURCE_FIELDS_MAX
    assert "not listed here" in embed["footer"]["text"]
    assert not limit_violations(payload)


def test_longest_answer_with_the_longest_sources_fits_in_6000_in_total():
    cites = [citation(n, "T" * 400, "O" * 400, "") for n in range(1, 11)]
    text = " ".join(f"Sentence {i} of a very long answer about the bans. [{i % 10 + 1}]"
                    for i in range(400))
    payload = render.render_answer(answer(text, cites, "Q" * 400))
    assert len(payload["embeds"][0]["fields"]) >= 5
    assert limit_violations(payload) == []


def test_sources_page_and_about_fit_and_say_what_they_show():
    rows = [{"title": f"Doc {i} @everyone", "outlet": "AP", "published": "2020-01-01",
             "url": f"https://e.example/{i}"} for i in range(10)]
    payload = render.render_sources(rows, 1, 3, 25, "huawei")
    assert "Page 1 of 3 · 25 document(s) · use page:2" in payload["embeds"][0]["footer"]["text"]
    assert "@\u200beveryone" in payload["embeds"][0]["description"]
    assert not limit_violations(payload)
    about = render.render_about({"documents": 33, "chunks": 51, "updated_at": 1700000000.5})
    values = [f["value"] for f in about["embeds"][0]["fields"]]
    assert values == ["33", "51", "<t:1700000000:f> (<t:1700000000:R>)"]


def long_text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Text of any characters and any length up to `max_size` (plain generation stays short)."""
    chars = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=60)
    return st.builds(lambda s, n: (s * (n // len(s) + 1))[:n], chars,
                     st.integers(min_size, max_size))


texts = long_text(0, 12000)
short = long_text(0, 300)
long = long_text(1, 2500)
urls = st.one_of(short, st.builds(lambda s: "https://e.example/" + s, short))
citations = st.lists(st.builds(citation, st.integers(1, 60), long, long, urls, short, short),
                     max_size=40)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, question=short, cites=citations, markers=st.booleans())
def test_any_answer_and_any_sources_render_within_every_discord_limit(text, question, cites,
                                                                       markers):
    if markers:  # sentences with [n] markers, the shape real answers have
        numbers = itertools.cycle([c.number for c in cites] or [1])
        text = " ".join(f"{text[i:i + 97]}. [{next(numbers)}]" for i in range(0, len(text), 97))
    payload = render.render_answer(answer(text, cites, question))
    embed = payload["embeds"][0]
    # steer the search towards the largest embeds, where the limits bite
    target(float(sum(u16(f["name"]) + u16(f["value"]) for f in embed.get("fields", []))))
    assert limit_violations(payload) == []
    description = payload["embeds"][0].get("description", "")
    assert u16(description) <= 4096 and "@everyone" not in description


@settings(max_examples=40, deadline=None)
@given(text=texts)
def test_errors_of_any_length_fit_in_a_message(text):
    assert limit_violations(render.render_error(text)) == []

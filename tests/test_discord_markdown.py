"""Corpus text in Discord embeds is shown literally: Markdown in a passage, title or outlet can
neither disguise a link nor format the message; the renderer's own [n] markers and links stay."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.types import Citation
from bot.discord_bot import render
from tests.answer_helpers import prose

LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\\\]])*)\]\(")  # a masked link Discord would render


def citation(n: int, title: str, outlet: str = "Reuters", url: str = "https://news.example/a",
             source: str = "corpus/x.md") -> Citation:
    return Citation(number=n, doc_id=f"d{n}", chunk_id=f"c{n}", title=title, outlet=outlet,
                    published="2020-01-01", url=url, source=source, passage="p", start=0, end=1)


def unescaped(text: str) -> str:
    """What Discord shows: a backslash before punctuation is dropped."""
    return re.sub(r"\\([^0-9A-Za-z\s])", r"\1", text).replace("\u200b", "")


def test_a_passage_with_a_markdown_link_is_not_a_disguised_link():
    text = ("The ministry issued an [official statement](https://evil.example/login) on 5G. [1] "
            "It was **final** and __binding__, `code` ~~struck~~ ||hidden|| > quoted #tag.")
    answer = prose(text, [citation(1, "Ministry [statement](https://evil.example/t)")],
                   "What did the [ministry](https://evil.example) say?")
    embed = render.render_answer(answer)["embeds"][0]
    assert LINK.findall(embed["description"]) == [] and LINK.findall(embed["title"]) == []
    assert unescaped(embed["description"]) == text
    assert "[1]" in embed["description"]  # the answer's own markers are kept as they are
    [field] = embed["fields"]
    assert field["name"] == "[1] Reuters · 2020-01-01"
    assert LINK.findall(field["value"]) == [
        "Ministry \\[statement\\]\\(https://evil.example/t\\)"]  # the one real link: the source
    assert field["value"].endswith("](https://news.example/a)")


def test_a_marker_followed_by_a_url_in_corpus_text_is_not_a_link():
    text = "See [1](https://evil.example) for details. [1]"
    embed = render.render_answer(prose(text, [citation(1, "T")]))["embeds"][0]
    assert LINK.findall(embed["description"]) == []


def test_markdown_in_titles_and_outlets_of_the_sources_list_is_escaped():
    rows = [{"title": "[Click me](https://evil.example)", "outlet": "*Bold* Times",
             "published": "2021", "url": "https://news.example/b"}]
    description = render.render_sources(rows, 1, 1, 1, "[x](https://evil.example)")
    embed = description["embeds"][0]
    assert LINK.findall(embed["title"]) == []
    assert len(LINK.findall(embed["description"])) == 1  # the document's own link only
    assert "\\*Bold\\* Times" in embed["description"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("[]()*_~`|<>#\\ab1 :/."), max_size=80))
def test_no_corpus_text_renders_a_link_and_all_of_it_is_shown(text):
    shown = render.plain(text)
    assert LINK.findall(shown) == []
    assert unescaped(shown) == text

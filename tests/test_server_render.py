"""The pure parts of the chat front ends: reading sub-commands, Slack and Markdown rendering."""

from __future__ import annotations

import json

import pytest

from bot.chat.dispatch import Reply, command_name, parse_request
from bot.chat.limits import RateLimiter, SeenSet, SeenSetFull
from bot.core.types import NOT_FOUND, Citation
from bot.server import render_markdown, render_slack
from bot.server.mentions import ZWSP
from tests.answer_helpers import not_found, prose

HOSTILE = ("<!channel> <!here|here> <!everyone> @channel @here @everyone @all <@U123> "
           "<https://evil.example|click> [evil](https://evil.example) *bold* & <script>x</script>")


def citation(n: int, passage: str = "Some passage.", title: str = "A title",
             url: str = "https://example.org/a") -> Citation:
    return Citation(number=n, doc_id=f"d{n}", chunk_id=f"d{n}-0", title=title, outlet="Reuters",
                    published="2020-07-14", url=url, source="corpus/x.md", passage=passage,
                    start=0, end=len(passage))


def answer(text: str, citations: list[Citation], found: bool = True) -> Reply:
    made = prose(text, citations, "What happened?") if found else not_found("What happened?")
    return Reply("answer", answer=made)


def slack_text(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


@pytest.mark.parametrize(("text", "action", "argument", "public"), [
    ("What did Suga say?", "ask", "What did Suga say?", False),
    ("public  What did Suga say?", "ask", "What did Suga say?", True),
    ("sources", "sources", "", False),
    ("SOURCES sweden court", "sources", "sweden court", False),
    ("quote Geng Shuang", "quote", "Geng Shuang", False),
    ("public quote Suga about security", "quote", "Suga about security", True),
    ("", "help", "", False),
    ("help", "help", "", False),
    ("timeline", "help", "", False),  # unknown sub-command
    ("Huawei", "ask", "Huawei", False),  # a capitalised word is a (short) question
])
def test_parse_request_reads_public_and_subcommands(text, action, argument, public):
    request = parse_request(text)
    assert (request.action, request.argument, request.public) == (action, argument, public)


def test_unknown_subcommand_says_so():
    assert "Unknown command `frobnicate`" in parse_request("frobnicate").note


def test_command_name_is_reduced_to_safe_characters():
    assert command_name("/vendorban") == "/vendorban"
    assert command_name("/ask`<!channel>") == "/askchannel"
    assert command_name("") == "/vendorban"


def test_slack_rendering_neutralises_mentions_and_control_sequences():
    message = render_slack.render(answer(HOSTILE + " [1]", [citation(1, HOSTILE, HOSTILE)]))
    text = slack_text(message)
    for bad in ("<!channel>", "<!here", "<!everyone>", "@channel", "@here", "@everyone", "@all",
                "<@U123>", "<https://evil", "<script>"):
        assert bad not in text
    assert f"@{ZWSP}channel" in text and "&lt;script&gt;" in text and "&amp;" in text


def test_slack_links_are_escaped_and_only_for_web_urls():
    assert render_slack.link("https://ex.org/a?b=1&c=2", "Title | with > signs") == \
        "<https://ex.org/a?b=1&amp;c=2|Title ¦ with &gt; signs>"
    assert render_slack.link("https://ex.org/a b|c>d", "t") == "<https://ex.org/a%20b%7Cc%3Ed|t>"
    assert render_slack.link("javascript:alert(1)", "t") == "t"
    assert render_slack.link("corpus/x.md", "Seed") == "Seed"


def test_slack_message_stays_within_block_kit_limits_for_huge_answers():
    long_text = "\n".join(f"- Sentence number {i} " + "word " * 100 + f"[{i % 60 + 1}]"
                          for i in range(200))
    cites = [citation(n, "p" * 5000, "T" * 500) for n in range(1, 61)]
    message = render_slack.render(answer(long_text, cites))
    blocks = message["blocks"]
    assert len(blocks) <= render_slack.MAX_BLOCKS
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= render_slack.MAX_SECTION_CHARS for t in texts)
    assert sum(len(json.dumps(b)) for b in blocks) < 12_000
    assert len(message["text"]) <= render_slack.MAX_FALLBACK_CHARS
    assert "more sources" in slack_text(message)


def test_slack_not_found_has_no_sources_section():
    message = render_slack.render(answer(NOT_FOUND, [], found=False))
    assert "Sources" not in slack_text(message) and NOT_FOUND in message["text"]


def test_markdown_rendering_escapes_text_and_neutralises_mentions():
    reply = answer(HOSTILE + " [1]", [citation(1, HOSTILE, "A [b] title")])
    text = render_markdown.render(reply)["text"]
    for bad in ("@channel", "@here", "@all", "@everyone", "[evil](", "<script>", "<!channel>"):
        assert bad not in text
    assert "[A \\[b\\] title](https://example.org/a)" in text
    assert "**Sources**" in text and "Reuters, 2020-07-14" in text


def test_markdown_post_respects_the_16383_character_cap():
    cites = [citation(n, "p", "T" * 900) for n in range(1, 80)]
    text = render_markdown.render(answer("word " * 9000, cites))["text"]
    assert len(text) <= render_markdown.MAX_POST_CHARS
    assert "**Sources**" in text and "more sources" in text


def test_sources_listings_link_titles_on_both_platforms():
    rows = [{"title": "T", "outlet": "O", "published": "2020-01-01", "url": "https://ex.org/t",
             "source": "s", "doc_id": "d", "kind": "article"}]
    reply = Reply("sources", sources=rows, total_sources=1)
    assert "<https://ex.org/t|T>: O, 2020-01-01" in slack_text(render_slack.render(reply))
    assert "[T](https://ex.org/t): O, 2020-01-01" in render_markdown.render(reply)["text"]


def test_rate_limiter_is_a_sliding_window_per_key():
    now = [1000.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert limiter.hit("a") == pytest.approx(60.0)
    assert limiter.hit("b") == 0
    now[0] += 30
    assert limiter.hit("a") == pytest.approx(30.0)
    now[0] += 30.001
    assert limiter.hit("a") == 0


def test_seen_set_forgets_after_its_ttl_and_stays_bounded():
    now = [0.0]
    seen = SeenSet(10, max_items=3, clock=lambda: now[0])
    assert seen.first("x") and not seen.first("x")
    now[0] = 11
    assert seen.first("x")
    assert seen.first("a") and seen.first("b")
    with pytest.raises(SeenSetFull):  # full of live keys: refuse, never forget one early
        seen.first("c")
    assert not seen.first("x") and len(seen) == 3

"""Replies as Markdown posts (Mattermost): `**bold**`, `[title](url)`, within the post cap."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from bot.chat.dispatch import HELP_LINES, Reply
from bot.core.types import Citation
from bot.render.text import also_in, answer_text, source_detail
from bot.server.mentions import neutralise_mentions

MAX_POST_CHARS = 16_383
_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")


def escape(text: str) -> str:
    """Corpus or user text shown literally: Markdown specials escaped, no mention can ping."""
    return _SPECIAL.sub(r"\\\1", neutralise_mentions(text, users_too=True))


def link(url: str, title: str) -> str:
    """`[title](url)` for http(s) URLs; the escaped title otherwise."""
    label = escape(title or url)
    if urlsplit(url).scheme not in ("http", "https"):
        return label
    return f"[{label}]({quote(url, safe=':/?#[]@!$&*+,;=%~')})"


def source_line(c: Citation) -> str:
    """`[n] [title](url): outlet, date`."""
    detail = escape(source_detail(c) + also_in(c))
    return f"\\[{c.number}\\] {link(c.link, c.title or '(untitled)')}: {detail}"


def _fit(head: list[str], items: list[str], what: str) -> str:
    """The head lines, then as many items as fit under the post cap, saying how many were cut."""
    text = "\n".join(head)
    for i, item in enumerate(items):
        tail = f"\n_…and {len(items) - i} more {what}._"
        if len(text) + 1 + len(item) + len(tail) > MAX_POST_CHARS:
            return text + tail
        text += "\n" + item
    return text[:MAX_POST_CHARS]


def _answer(reply: Reply) -> str:
    answer = reply.answer
    assert answer is not None
    head = [f"**Question:** {escape(answer.question)}", "", escape(answer_text(answer))]
    if not answer.found:
        return "\n".join(head)
    head[-1] = head[-1][: MAX_POST_CHARS // 2]  # the sources keep at least half the post
    return _fit([*head, "", "**Sources**"], [source_line(c) for c in answer.citations], "sources")


def _sources(reply: Reply) -> str:
    if not reply.sources:
        return "No documents match that search." if reply.search else "The index is empty."
    heading = (f"**Documents matching “{escape(reply.search)}”**" if reply.search
               else "**Documents**")
    lines = [f"- {link(r['url'] or r['source'], r['title'] or '(untitled)')}: "
             f"{escape(r['outlet'] or '')}, {r['published'] or 'undated'}" for r in reply.sources]
    text = _fit([heading], lines, "documents")
    if reply.total_sources > len(reply.sources) and "more documents" not in text:
        text += (f"\n_Showing {len(reply.sources)} of {reply.total_sources}; "
                 "narrow it with `sources <words>`._")
    return text


def help_text(command: str) -> str:
    """The help listing in Markdown."""
    return "\n".join(f"- `{command} {usage}`: {what}" for usage, what in HELP_LINES)


def render(reply: Reply, command: str = "/vendorban") -> dict:
    """A Mattermost response payload: Markdown `text` and `response_type`."""
    if reply.kind == "answer":
        text = _answer(reply)
    elif reply.kind == "sources":
        text = _sources(reply)
    elif reply.kind == "notice":
        text = escape(reply.message)
    elif reply.kind == "help":
        text = (f"{escape(reply.message)}\n" if reply.message else "") + help_text(command[:40])
    else:
        text = f"**Error:** {escape(reply.message)}"
    return {"response_type": "in_channel" if reply.public else "ephemeral",
            "text": text[:MAX_POST_CHARS]}


def searching(request_text: str) -> dict:
    """The immediate ephemeral acknowledgement of a slash command."""
    return {"response_type": "ephemeral",
            "text": f"Searching the corpus for “{escape(request_text[:200])}”…"}

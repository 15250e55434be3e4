"""Replies as Slack messages: Block Kit within every limit, plus a plain `text` fallback."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from bot.chat.dispatch import HELP_LINES, Reply
from bot.core.types import Citation
from bot.render.text import also_in, answer_text, source_detail
from bot.server.mentions import neutralise_mentions

MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_TOTAL_CHARS = 10_000  # all block text; Slack fails around 12-13k (msg_blocks_too_long)
MAX_FALLBACK_CHARS = 3000
MAX_QUESTION_CHARS = 300
VOTE_ACTIONS = {"vote_up": "up", "vote_down": "down"}  # button action_id -> the vote it casts


def escape(text: str) -> str:
    """Corpus or user text made safe for mrkdwn: no mentions, no control sequences."""
    text = neutralise_mentions(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, title: str) -> str:
    """`<url|title>` for http(s) URLs; just the title otherwise."""
    label = escape(title or url).replace("|", "¦")
    if urlsplit(url).scheme not in ("http", "https"):
        return label
    safe_url = quote(url, safe=":/?#[]@!$&'()*+,;=%~").replace("&", "&amp;")
    return f"<{safe_url}|{label}>"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _pack(lines: list[str], limit: int = MAX_SECTION_CHARS) -> list[list[str]]:
    """Lines grouped so each group joined by newlines fits `limit` (over-long lines are cut)."""
    groups: list[list[str]] = []
    size = limit + 1
    for line in (_cut(x, limit) for x in lines if x.strip()):
        if size + 1 + len(line) > limit:
            groups.append([])
            size = -1
        groups[-1].append(line)
        size += 1 + len(line)
    return groups


class _Blocks:
    """Collects blocks while the count and total-length budgets allow."""

    def __init__(self) -> None:
        self.blocks: list[dict] = []
        self.chars = 0

    def fits(self, text: str, reserve: int = 0) -> bool:
        return (len(self.blocks) + 1 + reserve <= MAX_BLOCKS
                and self.chars + len(text) <= MAX_TOTAL_CHARS - 200 * reserve)

    def section(self, text: str, reserve: int = 0) -> bool:
        text = _cut(text, MAX_SECTION_CHARS)
        if not self.fits(text, reserve):
            return False
        self.blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
        self.chars += len(text)
        return True

    def context(self, text: str) -> None:
        text = _cut(text, 2000)
        if self.fits(text):
            self.blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
            self.chars += len(text)

    def divider(self) -> None:
        if len(self.blocks) < MAX_BLOCKS - 1:
            self.blocks.append({"type": "divider"})


def source_line(c: Citation) -> str:
    """`*[n]* <url|title>: outlet, date` (and where else the story ran)."""
    detail = escape(source_detail(c) + also_in(c))
    return f"*[{c.number}]* {link(c.link, c.title or '(untitled)')}: {detail}"


def _answer(reply: Reply, out: _Blocks) -> str:
    answer = reply.answer
    assert answer is not None
    if reply.asked:  # a follow-up in a thread: say what it was taken to mean
        out.context(f"*Question:* {escape(_cut(reply.asked, MAX_QUESTION_CHARS))}\n"
                    f"*Read as:* {escape(_cut(answer.question, MAX_QUESTION_CHARS))}")
    else:
        out.context(f"*Question:* {escape(_cut(answer.question, MAX_QUESTION_CHARS))}")
    text = answer_text(answer)
    for group in _pack(escape(text).splitlines()):
        out.section("\n".join(group), reserve=2)
    if not answer.found:
        return escape(text)
    out.divider()
    out.section("*Sources*")
    for i, c in enumerate(answer.citations):
        left = len(answer.citations) - i
        if not out.section(source_line(c), reserve=1 if left > 1 else 0):
            out.context(f"…and {left} more sources (the web page and the API show them all).")
            break
    lines = [f"[{c.number}] {c.title} ({c.outlet}, {c.published or 'undated'}) {c.link}"
             for c in answer.citations]
    return escape("\n".join([text, "", "Sources:", *lines]))


def _sources(reply: Reply, out: _Blocks) -> str:
    if not reply.sources:
        text = "No documents match that search." if reply.search else "The index is empty."
        out.section(text)
        return text
    heading = f"*Documents matching “{escape(reply.search)}”*" if reply.search else "*Documents*"
    lines = [f"• {link(r['url'] or r['source'], r['title'] or '(untitled)')}: "
             f"{escape(r['outlet'] or '')}, {r['published'] or 'undated'}" for r in reply.sources]
    out.section(heading)
    shown = 0
    for group in _pack(lines):
        if not out.section("\n".join(group), reserve=1):
            break
        shown += len(group)
    if reply.total_sources > shown:
        out.context(f"Showing {shown} of {reply.total_sources}; narrow it with `sources <words>`.")
    titles = [f"• {r['title']} ({r['outlet']}, {r['published'] or 'undated'})"
              for r in reply.sources]
    return escape("\n".join([f"{reply.total_sources} documents:", *titles]))


def help_text(command: str) -> str:
    """The help listing in mrkdwn (`<question>` escaped: Slack reads bare `<...>` as a link)."""
    return "\n".join(f"`{command} {escape(usage)}`: {escape(what)}" for usage, what in HELP_LINES)


def render(reply: Reply, command: str = "/vendorban") -> dict:
    """A Slack message payload: `text`, `blocks` and `response_type`."""
    out = _Blocks()
    if reply.kind == "answer":
        fallback = _answer(reply, out)
    elif reply.kind == "sources":
        fallback = _sources(reply, out)
    elif reply.kind == "notice":
        fallback = escape(reply.message)
        out.section(fallback)
    elif reply.kind == "help":
        note = f"{escape(reply.message)}\n" if reply.message else ""
        fallback = note + help_text(escape(command))
        out.section(fallback)
    else:
        fallback = f":warning: {escape(reply.message)}"
        out.section(fallback)
    if reply.kind == "answer" and reply.answer_id:
        del out.blocks[MAX_BLOCKS - 1:]  # room for the buttons: at worst a last source line goes
        out.blocks.append(vote_buttons(reply.answer_id))
    return {"response_type": "in_channel" if reply.public else "ephemeral",
            "text": _cut(fallback, MAX_FALLBACK_CHARS), "blocks": out.blocks}


def vote_buttons(answer_id: str) -> dict:
    """The 👍/👎 actions block under a recorded answer (handled at POST /slack/interactions)."""
    labels = {"vote_up": "👍 Helpful", "vote_down": "👎 Not helpful"}
    return {"type": "actions", "block_id": "vote",
            "elements": [{"type": "button", "action_id": action,
                          "text": {"type": "plain_text", "text": labels[action], "emoji": True},
                          "value": answer_id} for action in VOTE_ACTIONS]}


def searching(request_text: str) -> dict:
    """The immediate ephemeral acknowledgement of a slash command."""
    return {"response_type": "ephemeral",
            "text": f":mag: Searching the corpus for “{escape(_cut(request_text, 200))}”…"}

"""Answers as plain text: the answer's lines with [n] markers, then the numbered sources.

This module owns the wording and layout of an answer's text: a speaker answer's heading, list
labels, dates beside a dated answer's sentences. Every front end shows an answer's text through
`answer_text` or `answer_parts`.
"""

from __future__ import annotations

from bot.core.types import Answer, AnswerItem, Citation

LINE_KINDS = ("list", "timeline", "speaker")  # one line per item; other kinds run as prose


def markers(numbers: tuple[int, ...]) -> str:
    """"[1][2]" for the citation numbers of an item."""
    return "".join(f"[{n}]" for n in numbers)


def heading(answer: Answer) -> str:
    """The line above a speaker answer's items ("What X (role) said, ..."), else ""."""
    if answer.kind != "speaker" or not answer.items:
        return ""
    first = answer.items[0]
    who = f"{first.speaker} ({first.role})" if first.role else first.speaker
    return f"What {who} said, according to the corpus:"


def dated(answer: Answer) -> bool:
    """A prose answer whose sentences come from different dates shows each one's date."""
    return answer.kind == "fact" and len({item.date for item in answer.items}) > 1


def item_text(answer: Answer, item: AnswerItem) -> str:
    """One item as shown: label or date where the kind has them, the words, the markers."""
    cited = f"{item.text} {markers(item.citations)}".rstrip()
    if answer.kind == "speaker":
        return f"- {cited}" + (f" ({item.date})" if item.date else "")
    if answer.kind in ("list", "timeline"):
        return f"- {item.label}: {cited}"
    if dated(answer):
        return f"({item.date or 'undated'}) {cited}"
    return cited


def answer_parts(answer: Answer) -> list[tuple[str, tuple[int, ...]]]:
    """The answer's pieces in order, each with the citation numbers it shows: the heading (if
    any), then one per item. Joined by `separator(answer)` they are the answer's text."""
    parts = [(item_text(answer, item), item.citations) for item in answer.items]
    head = heading(answer)
    return [(head, ()), *parts] if head else parts


def separator(answer: Answer) -> str:
    """Newline between the pieces of a line-per-item answer, a space in prose."""
    return "\n" if answer.kind in LINE_KINDS else " "


def answer_text(answer: Answer) -> str:
    """The answer's text with [n] markers (no sources)."""
    return separator(answer).join(text for text, _ in answer_parts(answer))


def source_detail(c: Citation) -> str:
    """"outlet, date[, p. N]" of a source (every front end shows it beside the title)."""
    detail = ", ".join(x for x in (c.outlet, c.published or "undated") if x)
    return f"{detail}, p. {c.page}" if c.page else detail


def also_in(c: Citation) -> str:
    """"; also in A, B" for a passage syndicated by other outlets, else ""."""
    if not c.also_in:
        return ""
    return "; also in " + ", ".join(str(a.get("outlet") or a.get("title")) for a in c.also_in)


def source_line(c: Citation) -> str:
    """One line describing a source: title, outlet, date, page, link."""
    return f"{c.title or '(untitled)'} ({source_detail(c)}){also_in(c)} {c.link}".strip()


def render_text(answer: Answer) -> str:
    """Plain-text rendering for the terminal: the answer, then the numbered sources."""
    if not answer.found:
        return answer_text(answer)
    lines = [answer_text(answer), "", "Sources:"]
    lines += [f"[{c.number}] {source_line(c)}" for c in answer.citations]
    return "\n".join(lines)

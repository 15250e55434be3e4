"""Discord message payloads from core results: pure functions, every Discord limit honoured.

Lengths are measured in UTF-16 code units, the stricter of the ways Discord's clients and API count
characters, so a payload that fits here fits there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.types import Answer, Citation
from bot.render.text import answer_parts, answer_text, separator

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000

SOURCE_FIELDS_MAX = 10  # more sources than this are counted in the footer, not listed
SOURCE_NAME_MAX = 120
SOURCE_VALUE_MAX = 300
SOURCES_BUDGET = 2500  # all source fields together, so the answer keeps most of the 6000
FOOTER_BUDGET = 200
LINE_MAX = 300

NO_MENTIONS: dict = {"parse": []}
SHORTENED_NOTE = "\n\n*(Answer shortened to fit Discord; the sources below hold the full text.)*"
COLOR_FOUND, COLOR_NOT_FOUND, COLOR_INFO = 0x2B6CB0, 0x718096, 0x2F855A
ABOUT_TEXT = ("I answer questions about government bans and restrictions on telecom vendors "
              "(Huawei, ZTE and others) from a corpus of news articles and official statements. "
              "Every claim carries a numbered source; when the corpus does not say, I say so.")
_BOUNDARY = re.compile(r"(?<=[.!?\]”\"])\s+(?!\[\d)")  # never split a sentence from its [n]
_MARKDOWN = re.compile(r"([\\*_~`|\[\]()<>#])")  # every character Discord's Markdown acts on
_ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")


def units(text: str) -> int:
    """Length as Discord may count it (UTF-16 code units)."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _prefix(text: str, limit: int) -> str:
    """The longest prefix of `text` that is at most `limit` units long."""
    total = 0
    for i, ch in enumerate(text):
        total += 2 if ord(ch) > 0xFFFF else 1
        if total > limit:
            return text[:i]
    return text


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` units, with an ellipsis when cut."""
    if units(text) <= limit:
        return text
    return _prefix(text, limit - 1).rstrip() + "…"


def neutralise(text: str) -> str:
    """Break every mention (@everyone, @here, <@id>, <@&role>) with a zero-width space."""
    return text.replace("@", "@\u200b")


def plain(text: str) -> str:
    """Corpus or user text shown literally: no mention pings, no Markdown (a passage holding
    `[official statement](https://...)` must not become a disguised link); [n] markers kept."""
    escaped = _MARKDOWN.sub(r"\\\1", neutralise(text))
    return _ESCAPED_MARKER.sub(r"[\1]", escaped)  # its "(" stays escaped: never a link


def shorten(text: str, limit: int) -> tuple[str, bool]:
    """`text` within `limit` units, cut after a whole sentence with a note; (text, was_cut)."""
    if units(text) <= limit:
        return text, False
    head = _prefix(text, limit - units(SHORTENED_NOTE) - 1)
    ends = [m.start() for m in _BOUNDARY.finditer(head)]
    if ends:
        head = head[: ends[-1]]
    else:  # one sentence longer than the room: cut at a word
        space = head.rfind(" ")
        head = (head[:space] if space > len(head) // 2 else head).rstrip() + "…"
    return head.rstrip() + SHORTENED_NOTE, True


def message(embeds: Sequence[dict] = (), content: str = "") -> dict:
    """A message payload that can ping no one (empty embed texts left out: Discord rejects them)."""
    kept = [{k: v for k, v in e.items() if not (isinstance(v, str) and not v.strip())}
            for e in embeds]
    return {"content": clip(content, CONTENT_MAX), "embeds": kept,
            "allowed_mentions": dict(NO_MENTIONS)}


def render_error(text: str) -> dict:
    """A short plain message (errors, cooldowns)."""
    return message(content=neutralise(text))


def _link(label: str, url: str) -> str:
    """A masked link when the URL is web-safe, else the label (already `plain`)."""
    if not url.startswith(("https://", "http://")):
        return label
    safe = url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{label}]({safe})"


def _source_value(c: Citation) -> str:
    title = plain(c.title.strip() or "(untitled)")
    extra = f", p. {c.page}" if c.page else ""
    if c.also_in:
        extra += "; also in " + ", ".join(str(a.get("outlet") or a.get("title")) for a in c.also_in)
    extra = plain(extra)
    linked = _link(clip(title, 200), c.url)
    if not c.url:
        linked += f" ({plain(c.source.rsplit('/', 1)[-1])})" if c.source else ""
    value = linked + extra
    if units(value) > SOURCE_VALUE_MAX:  # a cut link would be broken markdown: drop the link
        value = clip(title + extra, SOURCE_VALUE_MAX)
    return value


def source_fields(citations: Sequence[Citation]) -> list[dict]:
    """One embed field per source: "[n] outlet · date" over the linked title."""
    fields, used = [], 0
    for c in sorted(citations, key=lambda c: c.number)[:SOURCE_FIELDS_MAX]:
        name = clip(f"[{c.number}] " + plain(f"{c.outlet or 'Unknown outlet'} · "
                                             f"{c.published or 'undated'}"), SOURCE_NAME_MAX)
        field = {"name": name, "value": _source_value(c) or "-", "inline": False}
        used += units(name) + units(field["value"])
        if used > SOURCES_BUDGET:
            break
        fields.append(field)
    return fields


def description_of(answer: Answer, limit: int) -> tuple[str, set[int] | None]:
    """The answer's text within `limit` units: whole pieces (heading, items) while they fit,
    with a note when some were left out; (text, the citation numbers kept, None if all)."""
    text = plain(answer_text(answer))
    if units(text) <= limit:
        return text, None
    room, joiner = limit - units(SHORTENED_NOTE), separator(answer)
    kept: list[str] = []
    numbers: set[int] = set()
    for part, cited in answer_parts(answer):
        shown = plain(part)
        if units(joiner.join([*kept, shown])) > room:
            break
        kept.append(shown)
        numbers.update(cited)
    if not kept:  # the first piece alone is longer than the room: cut inside it
        text, _ = shorten(plain(answer_parts(answer)[0][0]), limit)
        return text, set(answer_parts(answer)[0][1])
    return joiner.join(kept).rstrip() + SHORTENED_NOTE, numbers


def render_answer(answer: Answer) -> dict:
    """The answer as one embed: text with [n] markers, then the numbered sources."""
    title = clip(plain(answer.question), TITLE_MAX)
    if not answer.found:
        return message([{"title": title, "description": clip(plain(answer_text(answer)),
                                                            DESCRIPTION_MAX),
                         "color": COLOR_NOT_FOUND}])
    fields = source_fields(answer.citations)
    room = EMBED_TOTAL_MAX - units(title) - FOOTER_BUDGET
    room -= sum(units(f["name"]) + units(f["value"]) for f in fields)
    description, kept = description_of(answer, min(DESCRIPTION_MAX, room))
    if kept is not None:  # list only the sources the kept text still cites
        listed = sorted(answer.citations, key=lambda c: c.number)[:len(fields)]
        fields = [f for f, c in zip(fields, listed, strict=True) if c.number in kept]
    hidden = len(answer.citations) - len(fields)
    footer = f"{len(answer.citations)} source(s) from the vendorban corpus"
    if hidden > 0:
        footer += f"; {hidden} not listed here"
    embed = {"title": title, "description": description, "color": COLOR_FOUND, "fields": fields,
             "footer": {"text": clip(footer, FOOTER_BUDGET)}}
    return message([embed])


def with_vote_buttons(payload: dict, answer_id: str | None) -> dict:
    """The payload with 👍/👎 buttons (custom_id `vote:up:<answer_id>`) when the answer is on
    record."""
    if not answer_id:
        return payload
    buttons = [{"type": 2, "style": style, "label": label, "emoji": {"name": emoji},
                "custom_id": f"vote:{vote}:{answer_id}"}
               for vote, style, label, emoji in (("up", 3, "Helpful", "👍"),
                                                 ("down", 4, "Not helpful", "👎"))]
    return {**payload, "components": [{"type": 1, "components": buttons}]}


def render_sources(rows: Sequence[dict], page: int, pages: int, total: int,
                   search: str | None) -> dict:
    """One page of the document list: title (linked), outlet, date."""
    lines = []
    for row in rows:
        text = plain(str(row.get("title") or "(untitled)"))
        title = _link(clip(text, 150), str(row.get("url") or ""))
        detail = plain(f"{row.get('outlet') or 'Unknown outlet'}, "
                            f"{row.get('published') or 'undated'}")
        line = f"• {title} — {detail}"
        lines.append(line if units(line) <= LINE_MAX else clip(f"• {detail}: {text}", LINE_MAX))
    heading = "Documents in the index" + (f" matching “{plain(search)}”" if search else "")
    description = "\n".join(lines) or "No document matches that search."
    footer = f"Page {page} of {pages} · {total} document(s)"
    if page < pages:
        footer += f" · use page:{page + 1} for more"
    return message([{"title": clip(heading, TITLE_MAX),
                     "description": clip(description, DESCRIPTION_MAX), "color": COLOR_INFO,
                     "footer": {"text": footer}}])


def render_about(stats: dict) -> dict:
    """What the bot is and what its index holds."""
    updated = stats.get("updated_at")
    # Discord shows <t:epoch:f> in each reader's own time zone
    when = f"<t:{int(updated)}:f> (<t:{int(updated)}:R>)" if updated else "never"
    fields = [{"name": "Documents", "value": str(stats.get("documents", 0)), "inline": True},
              {"name": "Chunks", "value": str(stats.get("chunks", 0)), "inline": True},
              {"name": "Last ingest", "value": when,
               "inline": True}]
    return message([{"title": "About vendorban", "description": ABOUT_TEXT, "color": COLOR_INFO,
                     "fields": fields}])

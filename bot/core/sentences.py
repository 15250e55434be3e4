"""Sentence splitting with exact character offsets (the basis of chunks, quotes and citations)."""

from __future__ import annotations

import re

# Abbreviations after which a full stop does not end a sentence.
_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "sen", "rep", "gov", "gen", "lt", "col", "st", "jr", "sr",
    "no", "vs", "etc", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec", "e.g", "i.e", "u.s", "u.k", "u.n", "e.u", "a.m", "p.m",
    "approx", "dept", "fig", "art", "sec", "min", "hon", "rt",
}
# A boundary starts only where a run of .!? starts, and never gives back what it consumed: a
# match attempt inside a long run ("......") would otherwise rescan the rest of it (quadratic).
_BOUNDARY = re.compile(r"(?<![.!?])[.!?]++[\"”’')\]]*+(?=\s++[\"“‘'(\[]?[A-Z0-9])")
_PARAGRAPH = re.compile(r"[^\n]+")


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the full stop at `dot` closes an abbreviation or an initial ("J. Smith")."""
    if text[dot] != ".":
        return False
    word = re.search(r"([A-Za-z.]+)$", text[max(0, dot - 24) : dot])  # a window: linear overall
    if not word:
        return False
    token = word.group(1).lower().strip(".")
    if token in _ABBREV:
        return True
    return len(token) == 1 and text[dot - 1].isupper()  # an initial


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Return (start, end) spans of the sentences of `text`, shifted by `offset`."""
    spans: list[tuple[int, int]] = []
    for line in _PARAGRAPH.finditer(text):
        start = line.start()
        for match in _BOUNDARY.finditer(line.group()):
            end = line.start() + match.end()
            if _is_abbreviation(text, line.start() + match.start()):
                continue
            spans.append((start, end))
            start = end
        spans.append((start, line.end()))
    result = []
    for start, end in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            result.append((start + offset, end + offset))
    return result


def paragraph_starts(text: str) -> set[int]:
    """Offsets where a line (paragraph) begins; speech attribution resets across headings."""
    return {m.start() for m in _PARAGRAPH.finditer(text)}


WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")


def words(text: str) -> list[str]:
    """The words of `text`, in order."""
    return WORD.findall(text)

"""Answers built by hand for renderer tests."""

from __future__ import annotations

import re

from bot.core import answer as answering
from bot.core.types import NOT_FOUND, Answer, AnswerItem, Citation

_MARKED = re.compile(r"\s*((?:\[\d+\])+)\s*")


def prose(text: str, citations: list[Citation], question: str = "Q?") -> Answer:
    """A fact answer whose items are the sentences of `text`, each up to its [n] markers."""
    parts = _MARKED.split(text)
    items = [AnswerItem(words, tuple(int(n) for n in re.findall(r"\d+", marks)))
             for words, marks in zip(parts[::2], parts[1::2], strict=False)]
    if parts[-1].strip():
        items.append(AnswerItem(parts[-1]))
    return Answer(question, "fact", items, citations)


def not_found(question: str = "Q?", text: str = NOT_FOUND) -> Answer:
    """The not-found answer (with `text` as its reason)."""
    return answering.not_found(question, text)

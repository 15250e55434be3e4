"""Reading a question: is it asking what somebody said, and about what?"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.errors import InputError

_SAY = (r"say|said|tell|told|state|stated|announce|announced|claim|claimed|comment|argue|write|"
        r"wrote|mean|think|warn|warned|add|note|respond|react|reply|declare")
_PATTERNS = [
    re.compile(rf"^\s*what\s+(?:did|has|have|does|do|had)\s+(?P<who>.+?)\s+(?:{_SAY})\b"
               r"(?:\s+(?:about|on|regarding)\s+(?P<about>.+?))?\s*[?.!]*\s*$", re.I),
    re.compile(r"^\s*what\s+(?:was|were|are|is)\s+(?P<who>.+?)['’]s?\s+"
               r"(?:comments?|remarks?|words|statements?|response|reaction|quotes?)"
               r"(?:\s+(?:about|on|regarding)\s+(?P<about>.+?))?\s*[?.!]*\s*$", re.I),
    re.compile(r"^\s*(?:quotes?\s+(?:from|by)?|show\s+me\s+quotes\s+(?:from|by))\s+(?P<who>.+?)"
               r"(?:\s+(?:about|on|regarding)\s+(?P<about>.+?))?\s*[?.!]*\s*$", re.I),
    re.compile(r"^\s*how\s+(?:did|has|have)\s+(?P<who>.+?)\s+(?:respond|react|reply)"
               r"(?:\s+(?:to|about)\s+(?P<about>.+?))?\s*[?.!]*\s*$", re.I),
]


@dataclass
class SpeakerQuestion:
    """A question about somebody's words."""

    who: str
    about: str | None


def parse_speaker_question(question: str) -> SpeakerQuestion | None:
    """The person a what-did-X-say question names, if it is one."""
    for pattern in _PATTERNS:
        match = pattern.match(question)
        if match:
            who = re.sub(r"^(?:the|mr\.?|ms\.?|mrs\.?|dr\.?)\s+", "", match.group("who").strip(),
                         flags=re.I)
            return SpeakerQuestion(who, match.groupdict().get("about"))
    return None


def clean_question(question: str, max_chars: int) -> str:
    """A question trimmed and bounded; InputError when empty or too long."""
    question = " ".join((question or "").split())
    if not question:
        raise InputError("Please ask a question, e.g. “What did Suga say?”")
    if len(question) > max_chars:
        raise InputError(f"That question is too long ({len(question)} characters); "
                         f"please keep it under {max_chars}.")
    return question

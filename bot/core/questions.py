"""Reading a question: is it asking what somebody said, and about what?"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.core.errors import InputError

_SAY = (r"say|said|tell|told|tweet|tweeted|post|posted|state|stated|announce|announced|claim|"
        r"claimed|comment|argue|write|"
        r"wrote|mean|think|warn|warned|add|note|respond|react|reply|declare")
# Anything after the speech verb is the topic: "about X", "when she announced X", "to CNN on X".
_ABOUT = (r"(?:\s+(?:(?:\w+\s+){0,3}?(?:about|on|regarding|over|concerning)\s+)?"
          r"(?P<about>.+?))?")
_PATTERNS = [
    re.compile(rf"^\s*what\s+(?:did|has|have|does|do|had)\s+(?P<who>.+?)\s+(?:{_SAY})\b"
               rf"{_ABOUT}\s*[?.!]*\s*$", re.I),
    re.compile(r"^\s*what\s+(?:was|were|are|is)\s+(?P<who>.+?)['’]s?\s+"
               r"(?:comments?|remarks?|words|statements?|response|reaction|quotes?)"
               rf"{_ABOUT}\s*[?.!]*\s*$", re.I),
    re.compile(r"^\s*(?:quotes?\s+(?:from|by)?|show\s+me\s+quotes\s+(?:from|by))\s+(?P<who>.+?)"
               rf"{_ABOUT}\s*[?.!]*\s*$", re.I),
    re.compile(r"^\s*(?P<who>[^-–—:?]+?)\s+(?:on|about|regarding)\s+(?P<about>.+?)"
               r"\s*[-–—:,]+\s*what\s+(?:did|does|has)\s+(?:he|she|they)\s+"
               r"(?:say|said|tell|told)\b.*$", re.I),
    re.compile(r"^\s*(?P<who>.+?)\s*[-–—:,]+\s*what\s+(?:did|does|has)\s+(?:he|she|they)\s+"
               r"(?:say|said|tell|told)\b.*$", re.I),
    re.compile(r"^\s*how\s+(?:did|has|have|does)\s+(?P<who>.+?)\s+"
               r"(?:respond|react|reply|explain|justify|defend|describe)\b"
               r"(?:\s+(?:to\s+|about\s+)?(?P<about>.+?))?\s*[?.!]*\s*$", re.I),
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


_SPEECH_CUES = re.compile(r"\b(?:say|said|says|quote|quotes|comments?|remarks?|reaction|react|"
                          r"take\s+on|respon(?:d|se)|statement|think|view|position|words|tell|"
                          r"told|stance|write|wrote|warn|warned|argue|argued)\b", re.I)
_LEADING_TOPIC = re.compile(r"^\s*(?:['’]s\s+)?(?:on|about|regarding|re:?)\b", re.I)
_NOT_PEOPLE = {"huawei", "zte", "bt", "fcc", "eu", "china"}


def mentioned_speaker(question: str, known: list[str]) -> SpeakerQuestion | None:
    """A known speaker named in a question that asks for their words ("Breton on the EU?")."""
    from bot.core.attribution import names_a_body
    from bot.core.quotes import aliases

    cue = _SPEECH_CUES.search(question)
    for name in sorted(known, key=len, reverse=True):
        if name.lower() in _NOT_PEOPLE:
            continue
        for alias in sorted(aliases(name), key=len, reverse=True):
            if names_a_body(alias):  # "Spain" of a name like "Huawei Spain" in an older index
                continue
            match = re.search(rf"(?<!\w){re.escape(alias)}(?:['’]s)?(?!\w)", question, re.I)
            leading = match and match.start() == 0 and _LEADING_TOPIC.match(question[match.end():])
            if match and (cue or leading) and (len(alias) >= 4 or alias == name):
                rest = (question[: match.start()] + question[match.end():]).strip(" ?.!")
                rest = _SPEECH_CUES.sub(" ", rest)
                return SpeakerQuestion(name, " ".join(rest.split()) or None)
    return None


def clean_question(question: str, max_chars: int) -> str:
    """A question trimmed and bounded; InputError when empty, too long or not text."""
    question = question or ""
    if any("\ud800" <= c <= "\udfff" for c in question):  # a lone surrogate: no encoder takes it
        raise InputError("That question holds characters that are not text; please retype it.")
    question = "".join(c for c in question if unicodedata.category(c) != "Cf")  # zero-width
    question = " ".join(question.split())
    if not question:
        raise InputError("Please ask a question, e.g. “What did Suga say?”")
    if len(question) > max_chars:
        raise InputError(f"That question is too long ({len(question)} characters); "
                         f"please keep it under {max_chars}.")
    return question


_LIST = re.compile(r"^\s*(?:which|what)\s+(?:\w+\s+)?(?:countries|governments|nations|states|"
                   r"deadlines|measures|bans|restrictions)\b|^\s*(?:list|name)\b|"
                   r"\bwho\s+(?:else\s+)?(?:has|have)\s+"
                   r"(?:banned|restricted|barred|excluded)", re.I)
_TOPIC = r"(?:^|^[^?:]{1,40}:)\s*"  # "Germany: when do ...": a topic, then the question
_WHEN = re.compile(rf"{_TOPIC}(?:when|what\s+(?:date|day|year|month))\b|\bon\s+what\s+date\b|"
                   r"\b(?:after|before|from|since)\s+what\s+(?:date|day|year|month)\b", re.I)
_DEADLINE = re.compile(r"\bdeadlines?\b|\bcut-?\s?off\b|\bby\s+when\b|\bhow\s+long\b|"
                       r"\btimeline\s+for\b|\bdue\s+date\b|\b(?:have|had|has|must|need)\s+to\s+"
                       r"(?:be\s+)?(?:remov|replac|rip|strip|phas|swap|switch)\w*|\bwhen\s+must\b",
                       re.I)
_WHY = re.compile(rf"{_TOPIC}(?:why|for\s+what\s+reason|what\s+(?:was|were|is|are)\s+the\s+"
                  r"reasons?)\b|\breasons?\s+for\b", re.I)
_LATEST = re.compile(r"\b(?:latest|now|current(?:ly)?|recent(?:ly)?|still|today|newest|"
                     r"most\s+recent|as\s+of)\b", re.I)
_STATEMENTS = re.compile(r"\bofficial\s+statements?\b|\bpress\s+releases?\b", re.I)
_YEAR_RANGES = [
    (re.compile(r"\b(?:since|after|from)\s+((?:19|20)\d\d)\b", re.I), "since"),
    (re.compile(r"\b(?:before|until|prior\s+to)\s+((?:19|20)\d\d)\b", re.I), "until"),
    (re.compile(r"\bin\s+((?:19|20)\d\d)\b", re.I), "in"),
]


_AMOUNT = re.compile(r"\bhow\s+(?:much|many|big|large|high)\b|\b(?:size|cost|amount|number|"
                     r"figure|price|total|value)\s+of\b|\bwhat\s+(?:\w+\s+)?(?:size|amount|number|"
                     r"share|percentage|cap|figure|sum)\b", re.I)
_NAMES = re.compile(rf"{_TOPIC}(?:which|what)\s+(?:\w+\s+){{0,2}}?(?:operators|carriers|brands|"
                    r"vendors|companies|firms|suppliers|providers|manufacturers|makers|telcos|"
                    r"products|networks)\b", re.I)  # "which operators ...": an answer names them
_PEOPLE = re.compile(r"^\s*(?:which|what|who)\s+(?:\w+\s+){0,3}?(?:spokespeople|spokespersons|"
                     r"spokesm[ae]n|officials|ministers|people|leaders|regulators)\b", re.I)


def question_type(question: str) -> str:
    """One of: people, list, deadline, when, why, names, amount, fact."""
    if _PEOPLE.search(question):
        return "people"
    if _LIST.search(question):
        return "list"
    if _DEADLINE.search(question):
        return "deadline"
    if _WHEN.search(question):
        return "when"
    if _WHY.search(question):
        return "why"
    if _NAMES.search(question):
        return "names"
    if _AMOUNT.search(question):
        return "amount"
    return "fact"


def wants_latest(question: str) -> bool:
    """The question asks for the newest state of affairs ("latest", "now", "currently")."""
    return bool(_LATEST.search(question))


def date_and_kind_filters(question: str) -> dict:
    """Unambiguous published-date ranges and kinds stated in the question, as Filters fields."""
    from datetime import date

    found: dict = {}
    for pattern, mode in _YEAR_RANGES:
        match = pattern.search(question)
        if not match:
            continue
        year = int(match.group(1))
        if mode in ("since", "in"):
            found["since"] = date(year, 1, 1)
        if mode == "until":
            found["until"] = date(year - 1, 12, 31)
        if mode == "in":
            found["until"] = date(year, 12, 31)
        break
    if _STATEMENTS.search(question):
        found["kind"] = "statement"
    return found

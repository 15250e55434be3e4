"""Follow-up questions: what a question is about, and a follow-up rewritten into a standalone
question from the subject of the turns before it (rules, no model)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bot.core.questions import parse_speaker_question
from bot.core.schema import VENDOR_NAMES
from bot.core.text import (
    GENERIC_NAMES,
    PHRASES,
    QUESTION_WORDS,
    STOPWORDS,
    content_terms,
    country_token,
)

# Words that ask about an aspect of a subject rather than name one ("how much will it cost?").
ASPECTS = frozenset(content_terms(
    "cost costs costing price pay paid money amount deadline date time when happen happened "
    "take effect start end reason reasons why mean react reaction respond response say said "
    "comment think next plan plans happen detail details impact affect long soon else more "
    "compensation compensate fund funding budget announce announced decide decided who "
    "true really correct"))
_WORD = re.compile(r"[A-Za-z0-9][\w.\-’']*")
_NAME = re.compile(r"(?<![\w.])(?:[A-Z][\w\-’']*|[A-Z]{2,})(?:\s+(?:[A-Z][\w\-’']*|[A-Z]{2,}))*")
_ELLIPSIS = re.compile(r"^\s*(?:(?:and|but|so)\s+)?(?:(?:what|how)\s+about|and|or|also)\s+"
                       r"(?:in\s+|for\s+|with\s+)?(?P<rest>.+?)\s*[?.!]*\s*$", re.I)
_LEADING_AND = re.compile(r"^\s*(?:and|but|so|also|ok(?:ay)?,?)\s+", re.I)
_OBJECT = re.compile(r"\b(?P<prep>about|on|regarding|over|of|against|to|for|with|from|"
                     r"concerning)\s+"
                     r"(?P<pron>it|that|this|them|these|those)(?=\s*[?.!,]*\s*$)", re.I)
_TRAILING_PRONOUN = re.compile(r"\b(?:it|them|that|this|these|those|there)\s*[?.!]*\s*$", re.I)
_PERSON_PRONOUN = re.compile(r"\b(?:he|she|him|her|his)\b", re.I)
_GROUP_PRONOUN = re.compile(r"\b(?:they|their|them)\b", re.I)
_REFERRING = re.compile(r"\b(?:it|its|they|their|them|he|she|him|her|his|there|"
                        r"(?:that|this|these|those)(?=\s*(?:[?.!,]|$|(?:ban|bans|measure|"
                        r"decision|law|rule|order|move|policy|deadline|plan|one)\b)))\b", re.I)
_ASKS_FOR_PLACES = re.compile(r"\b(?:countries|governments|nations|states|where)\b", re.I)
_SKIP_START = QUESTION_WORDS | STOPWORDS | GENERIC_NAMES | frozenset(
    "and but so also ok okay what how why when where which who has have will would could should "
    "can is are was were did does do must may might shall".split())


@dataclass(frozen=True)
class Subject:
    """What a question is about: places, vendors and named people/bodies as written, and a short
    topic phrase cut from the question."""

    places: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    topic: str = ""

    def entities(self) -> tuple[str, ...]:
        return self.places + self.vendors + self.people

    def empty(self) -> bool:
        return not self.entities() and not self.topic


@dataclass(frozen=True)
class Rewrite:
    """A question as asked, as answered (standalone) and the subject later follow-ups inherit."""

    question: str
    standalone: str
    subject: Subject = field(default_factory=Subject)
    inherited: bool = False  # the standalone question took something from earlier turns
    replaced: dict[str, str] = field(default_factory=dict)  # kind -> new value ("What about X?")


FILTER_KINDS = {"places": "country", "vendors": "vendor", "people": "speaker"}


def follow_filters(turn: Rewrite, own: dict[str, str], previous: dict[str, str]
                   ) -> dict[str, str]:
    """The filters a turn is answered with: its own, else (for a follow-up) the previous turn's,
    with a filter on a swapped entity following the swap ("What about Sweden?")."""
    if own or not turn.inherited:
        return own
    kept = dict(previous)
    for kind, value in turn.replaced.items():
        if FILTER_KINDS[kind] in kept:
            kept[FILTER_KINDS[kind]] = value
    return kept


def find_places(text: str) -> tuple[str, ...]:
    """Countries named in a text, as written ("the UK", "New Zealand", "Chinese")."""
    spans: list[tuple[int, str]] = []
    taken: set[str] = set()
    for pattern, token in PHRASES:
        for m in pattern.finditer(text):
            if token not in taken:
                spans.append((m.start(), m.group(0).strip()))
                taken.add(token)
    for m in _WORD.finditer(text):
        word = m.group(0).rstrip(".,").removesuffix("'s").removesuffix("’s")
        token = country_token(word) if word.lower() not in STOPWORDS else None
        covered = any(start <= m.start() < start + len(s) for start, s in spans)
        if token and token not in taken and not covered:
            spans.append((m.start(), word))
            taken.add(token)
    return tuple(s for _, s in sorted(spans))


def find_vendors(text: str) -> tuple[str, ...]:
    """Vendors named in a text, in the canonical spelling."""
    found = [(m.start(), v) for v in VENDOR_NAMES
             for m in [re.search(rf"(?<!\w){re.escape(v)}(?!\w)", text, re.I)] if m]
    kept = [v for _, v in sorted(found)]
    return tuple(v for v in kept if not any(v != o and v.lower() in o.lower() for o in kept))


def find_people(text: str, places: tuple[str, ...] = (), vendors: tuple[str, ...] = ()
                ) -> tuple[str, ...]:
    """Named people and bodies: capitalised names that are neither places nor vendors."""
    known = {x.lower() for x in places + vendors}
    found: list[str] = []
    for m in _NAME.finditer(text):
        words = m.group(0).split()
        while words and words[0].lower() in _SKIP_START:
            words = words[1:]
        while words and words[-1].lower() in _SKIP_START:
            words = words[:-1]
        name = " ".join(w.removesuffix("'s").removesuffix("’s") for w in words)
        at_start = m.start() == 0 or not text[: m.start()].strip(" \"'(")
        if not name or name.lower() in known or any(v.lower() in name.lower() for v in known):
            continue
        if at_start and len(words) == 1 and not name.isupper():
            continue  # a capital at the start of a sentence names nothing by itself
        if country_token(name) or name.lower() in STOPWORDS:
            continue
        found.append(name)
    return tuple(dict.fromkeys(found))


def topic_terms(question: str, subject_words: tuple[str, ...] = ()) -> list[str]:
    """The question's own content terms that are neither names nor aspects ("ban", "5G")."""
    named = set(content_terms(" ".join(subject_words)))
    return [t for t in content_terms(question) if t not in named and t not in ASPECTS]


def topic_phrase(question: str) -> str:
    """The part of a question that says what it is about, without the asking words."""
    speaker = parse_speaker_question(question)
    if speaker and speaker.about and not _REFERRING.fullmatch(speaker.about.strip(" ?")):
        return speaker.about.strip(" ?.!")
    words = question.strip().rstrip("?.! ").split()
    article = ""
    while words and (words[0].lower().strip(",") in _SKIP_START or
                     not content_terms(words[0]) or not topic_terms(words[0])):
        if words[0][:1].isupper() and words[0].lower() not in _SKIP_START:
            break  # a name starts the topic
        article = words[0] if words[0].lower() in ("the", "a", "an") else ""
        words = words[1:]
    return " ".join([article, *words]).strip() if words else ""


def analyse(question: str) -> Subject:
    """The subject a question names itself; a place asked what it said counts as a speaker."""
    places, vendors = find_places(question), find_vendors(question)
    people = find_people(question, places, vendors)
    speaker = parse_speaker_question(question)
    if speaker:
        people = (*[p for p in places if p in speaker.who], *people)
        places = tuple(p for p in places if p not in speaker.who)
    has_topic = bool(topic_terms(question, places + vendors + people))
    about = bool(speaker and speaker.about and not _REFERRING.fullmatch(speaker.about.strip()))
    topic = topic_phrase(question) if has_topic or about else ""
    return Subject(places, vendors, people, topic)


def rewrite(question: str, history: list[Rewrite]) -> Rewrite:
    """The standalone form of `question` given the earlier turns of its conversation (oldest
    first); the question itself when it names its own subject or there is nothing before it."""
    last = next((t for t in reversed(history) if not t.subject.empty()), None)
    own = analyse(question)
    if last is None:
        return Rewrite(question, question, own)
    previous = last.subject
    ellipsis = _ELLIPSIS.match(question)
    if ellipsis:
        swapped = _swap(ellipsis.group("rest"))
        if swapped:
            return swapped_rewrite(question, last, swapped)
        question_body = _LEADING_AND.sub("", question)
    else:
        question_body = question
    referring = bool(_REFERRING.search(question_body))
    full = own.entities() and own.topic and not _TRAILING_PRONOUN.search(question_body)
    if full or (own.entities() and not referring):
        return Rewrite(question, question, own)  # it names its own subject
    if not referring and not ellipsis and own.topic and _ASKS_FOR_PLACES.search(question):
        return Rewrite(question, question, own)  # "which countries ban X?" asks for the places
    return _inherit(question, question_body, own, previous)


def _swap(rest: str) -> dict[str, str]:
    """"What about X?": the kind of entity X is (place, vendor, person) -> X."""
    rest = rest.strip(" ?.!")
    places, vendors = find_places(rest), find_vendors(rest)
    people = find_people(rest[:1].upper() + rest[1:], places, vendors) if not (places or vendors) \
        else ()
    if places:
        return {"places": places[0]}
    if vendors:
        return {"vendors": vendors[0]}
    if people and len(rest.split()) <= 4:
        return {"people": people[0]}
    return {}


def swapped_rewrite(question: str, last: Rewrite, swap: dict[str, str]) -> Rewrite:
    """The previous question with one entity swapped ("What about Sweden?")."""
    kind, new = next(iter(swap.items()))
    old = getattr(last.subject, kind)[:1]  # the first named: the speaker, the main place
    subject = replace(last.subject, **{kind: (new, *getattr(last.subject, kind)[1:])},
                      topic=_replace_all(last.subject.topic, old, new))
    base = _replace_all(last.standalone.rstrip("?.! "), old, new)
    if base == last.standalone.rstrip("?.! "):
        base += (" in " if kind == "places" else " for ") + new
    standalone = _question(base, last.standalone)
    return Rewrite(question, standalone, subject, True, {kind: new})


def _compose(subject: Subject) -> str:
    """A subject as a phrase: its topic, then the names the topic leaves out."""
    parts = [subject.topic] if subject.topic else []
    missing = [e for e in subject.entities() if e.lower() not in subject.topic.lower()]
    if missing:
        parts.append(", ".join(missing))
    return ", ".join(parts)


def _inherit(question: str, body: str, own: Subject, previous: Subject) -> Rewrite:
    """A follow-up completed from the previous subject: pronouns resolved, gaps filled."""
    topic = previous.topic
    for kind in ("places", "vendors"):  # "How much will it cost in Sweden?": Sweden, not the UK
        if getattr(own, kind) and getattr(previous, kind):
            topic = _replace_all(topic, getattr(previous, kind)[:1], getattr(own, kind)[0])
    if _ASKS_FOR_PLACES.search(body) and not own.places:  # "which other countries did that?"
        topic = " ".join(_replace_all(topic, previous.places, "").split())
        previous = replace(previous, places=())
    previous = replace(previous, topic=topic)
    if own.topic and _REFERRING.search(own.topic):
        own = replace(own, topic="")  # "Sweden ban it": the previous topic says what "it" is
    subject = Subject(own.places or previous.places, own.vendors or previous.vendors,
                      own.people or previous.people, own.topic or previous.topic)
    text = body.strip().rstrip("?.! ")
    actor = (previous.people or previous.places or ("",))[0]
    named_person = any(" " in p for p in own.people)  # "FCC" is a body, "Geng Shuang" a person
    if previous.people and _PERSON_PRONOUN.search(text) and not named_person:
        text = _PERSON_PRONOUN.sub(lambda m: _person(m.group(0), previous.people[0]), text, 1)
        subject = replace(subject, people=tuple(dict.fromkeys(previous.people[:1] + own.people
                                                          + previous.people[1:])))
    elif actor and not own.entities() and re.search(r"\bthey\b", text, re.I):
        text = re.sub(r"\bthey\b", actor, text, count=1, flags=re.I)
    obj = _OBJECT.search(text)
    context = _compose(replace(subject, topic="" if own.topic else subject.topic))
    if obj and previous.topic:
        text = text[: obj.start("pron")] + previous.topic + text[obj.end("pron"):]
        context = _compose(replace(subject, topic=""))
    missing = [c for c in context.split(", ") if c and c.lower() not in text.lower()]
    if missing:
        text += f" ({', '.join(missing)})"
    return Rewrite(question, _question(text, question), subject, True)


def _person(pronoun: str, name: str) -> str:
    return f"{name}'s" if pronoun.lower() in ("his", "her") else name


def _replace_all(text: str, olds: tuple[str, ...], new: str) -> str:
    for old in olds:
        text = re.sub(rf"(?<!\w)(?:the\s+)?{re.escape(old)}(?!\w)", new, text, flags=re.I)
    return text


def _question(text: str, asked: str) -> str:
    """Capitalised, ending as the asked question ends (usually "?")."""
    text = " ".join(text.split()).rstrip("?.! ,")
    end = asked.strip()[-1:] if asked.strip()[-1:] in "?.!" else "?"
    return text[:1].upper() + text[1:] + end

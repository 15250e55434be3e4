"""Who said what: sentence-level speech attribution and verbatim quote extraction.

Attribution is strict on purpose: a sentence belongs to a speaker only when it names them next to a
speech verb, or when it continues their speech (a pronoun + speech verb, or a bare quotation) right
after a sentence that was theirs. Anything else breaks the chain, so one speaker's words are never
carried over to another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.core.sentences import paragraph_starts, split_sentences
from bot.core.types import Attribution, Quote

SPEECH_VERBS = (
    r"said|says|say|told|tells|added|adds|noted|notes|stated|states|explained|warned|warns|argued|"
    r"insisted|stressed|emphasi[sz]ed|expressed|declined to comment|announced|announces|claimed|"
    r"wrote|urged|described|commented|remarked|acknowledged|confirmed|denied|pledged|vowed|asserted|"
    r"reiterated|cautioned|accused|called|criticised|criticized|responded|replied|maintained|"
    r"observed|suggested|predicted|promised|admitted|indicated|declared|answered"
)
_VERB = re.compile(rf"\b(?:{SPEECH_VERBS})\b")
_NAME = r"[A-Z][\w’'\-]+(?:\s+(?:[A-Z][\w’'\-]+|de|van|von|al|bin))*"
_NAME_BEFORE = re.compile(rf"({_NAME}),?(?:\s+\w+ly)?\s+(?:{SPEECH_VERBS})\b")
_NAME_AFTER = re.compile(
    rf"\b(?:said|says|added|wrote)\s+({_NAME})(?=\s*(?:[,.;]|$|\s+(?:who|in|on|at|during|after)\b))"
)
_PRONOUN_SPEECH = re.compile(
    rf"(?:^|[\s,“\"])(?:he|she|He|She)\s+(?:\w+ly\s+|also\s+|later\s+|then\s+)?(?:{SPEECH_VERBS})\b"
)
_PRONOUN_LEAD = re.compile(r"^(?:However|But|And|Yet|Still|Instead)?,?\s*(?:he|she|He|She)\b")
_QUOTE = re.compile(r"“([^”]{3,})”|\"([^\"]{3,})\"")
_NOT_NAMES = {
    "The", "A", "An", "But", "However", "And", "In", "On", "At", "It", "This", "That", "These", "He",
    "She", "They", "We", "I", "Earlier", "Later", "Meanwhile", "Officials", "Sources", "Analysts",
    "Critics", "Reuters", "AP", "AFP", "Bloomberg", "Its", "His", "Her", "Their", "As", "When",
    "While", "After", "Before", "If", "Last", "Next", "Also", "Some", "Many", "Both", "One", "Two",
    "Government", "Company", "Ministry", "Minister", "Spokesman", "Spokeswoman", "Spokesperson",
}


def speaker_key(name: str) -> str:
    """Normalised speaker name used in index flags ("Yoshihide Suga" -> "yoshihide suga")."""
    return " ".join(name.lower().split())


def aliases(name: str) -> set[str]:
    """Ways a text may refer to a speaker: the full name, its last and first word."""
    parts = [p for p in name.split() if len(p) >= 3]
    found = {name}
    if len(parts) >= 2:
        found.update({parts[-1], parts[0]})
    return found


def _clean_name(raw: str) -> str | None:
    """Strip leading titles/stopwords from a detected name; None when nothing name-like is left."""
    tokens = raw.split()
    while tokens and (tokens[0] in _NOT_NAMES or tokens[0].endswith(("’s", "'s"))):
        tokens.pop(0)
    if not tokens or tokens[0] in _NOT_NAMES:
        return None
    name = " ".join(tokens)
    return name if len(name) >= 3 else None


def _known_mentions(sentence: str, speakers: Sequence[str]) -> list[tuple[int, str]]:
    """(position, speaker) for every mention of a known speaker in the sentence."""
    mentions = []
    for speaker in speakers:
        for alias in sorted(aliases(speaker), key=len, reverse=True):
            match = re.search(rf"(?<![\w’']){re.escape(alias)}(?![\w])", sentence)
            if match:
                mentions.append((match.start(), speaker))
                break
    return mentions


def _sentence_speaker(sentence: str, speakers: Sequence[str]) -> tuple[str | None, bool]:
    """The speaker a sentence names as speaking, and whether it names some other person at all."""
    verbs = [m.start() for m in _VERB.finditer(sentence)]
    known = _known_mentions(sentence, speakers)
    if known and verbs:
        _, speaker = min(known, key=lambda m: min(abs(m[0] - v) for v in verbs))
        return speaker, True
    for pattern in (_NAME_BEFORE, _NAME_AFTER):
        for match in pattern.finditer(sentence):
            name = _clean_name(match.group(1))
            if name:
                resolved = next((s for s in speakers if name in aliases(s) or s == name), name)
                return resolved, True
    return None, bool(known)


def attribute(text: str, speakers: Sequence[str] = ()) -> list[Attribution]:
    """Attribute the sentences of a document to speakers (known ones first, then detected names)."""
    result: list[Attribution] = []
    focus: str | None = None
    paragraphs = paragraph_starts(text)
    for start, end in split_sentences(text):
        sentence = text[start:end]
        speaker, names_someone = _sentence_speaker(sentence, speakers)
        if speaker:
            focus = speaker
        elif focus and _continues_speech(sentence):
            speaker = focus
        else:
            heading = start in paragraphs and not sentence.rstrip().endswith((".", "”", '"', "?"))
            if names_someone or heading or not _PRONOUN_LEAD.match(sentence):
                focus = None
        if speaker:
            result.append(Attribution(start, end, speaker))
    return result


def _continues_speech(sentence: str) -> bool:
    """A pronoun + speech verb, a pronoun-led sentence quoting words, or a bare quotation."""
    if _PRONOUN_SPEECH.search(sentence):
        return True
    if _PRONOUN_LEAD.match(sentence) and _QUOTE.search(sentence):
        return True
    stripped = sentence.strip()
    return stripped[:1] in "“\"" and stripped[-1:] in "”\"" and not _VERB.search(stripped)


def extract_quotes(text: str, speaker: str, chunk_id: str, offset: int) -> list[Quote]:
    """Quoted spans of an attributed sentence; each is checked to be an exact substring."""
    quotes = []
    for match in _QUOTE.finditer(text):
        inner = match.group(1) or match.group(2)
        inner = inner.strip().rstrip(",")
        if len(inner.split()) < 2 or inner not in text:
            continue
        pos = text.index(inner)
        quotes.append(Quote(speaker, inner, chunk_id, offset + pos, offset + pos + len(inner)))
    return quotes


def resolve_speaker(query: str, known: Iterable[str]) -> list[str]:
    """Known speakers a user's name refers to ("Suga" -> ["Yoshihide Suga"]), best first."""
    q = " ".join(query.lower().replace("’s", "").replace("'s", "").split())
    if not q:
        return []
    exact, partial = [], []
    for name in known:
        low = name.lower()
        if low == q:
            exact.append(name)
        elif q in {a.lower() for a in aliases(name)} or (len(q) >= 4 and q in low.split()):
            partial.append(name)
        elif len(q.split()) >= 2 and all(part in low.split() for part in q.split()):
            partial.append(name)
    return exact + sorted(partial)

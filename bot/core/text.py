"""Light text analysis shared by retrieval and answering: terms, stems, salient names."""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not now of off on once only or other our ours ourselves out over
    own same she should so some such than that the their theirs them themselves then there these
    they this those through to too under until up very was we were what when where which while who
    whom why will with would you your yours yourself yourselves tell me us say said says please
    know anything something thing things ever also still yet any many much one two""".split()
)
QUESTION_WORDS = frozenset("what when where which who whom whose why how did does do is are was".split())
DEMONYMS = {
    "japanese": "japan", "chinese": "china", "british": "uk", "britain": "uk", "english": "uk",
    "american": "us", "america": "us", "u.s.": "us", "usa": "us", "u.k.": "uk",
    "german": "germany", "french": "france", "swedish": "sweden", "canadian": "canada",
    "australian": "australia", "indian": "india", "european": "eu", "zealand": "new zealand",
    "italian": "italy", "portuguese": "portugal", "danish": "denmark", "estonian": "estonia",
    "belgian": "belgium", "dutch": "netherlands", "polish": "poland", "korean": "korea",
    "taiwanese": "taiwan", "vietnamese": "vietnam", "brazilian": "brazil", "mexican": "mexico",
    "russian": "russia", "spanish": "spain", "norwegian": "norway", "finnish": "finland",
}
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z0-9]|[A-Za-z0-9]")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (keeps 5G, 3G/4G parts, U.S.-style acronyms)."""
    return [t.lower().strip(".") for t in _TOKEN.findall(text.replace("’", "'"))]


@lru_cache(maxsize=1 << 16)  # a pure function called ~6,000 times per answer on few words
def stem(word: str) -> str:
    """A tiny suffix stripper: enough to match ban/bans/banned, restrict/restricted/restrictions."""
    word = DEMONYMS.get(word, word)
    for suffix in ("ations", "ation", "ments", "ment", "ings", "ing", "ied", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + ("y" if suffix in ("ied", "ies") else "")
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiou":
        word = word[:-1]  # banned -> bann -> ban
    return word


def content_terms(text: str) -> list[str]:
    """Stemmed terms of a text without stopwords."""
    return [stem(t) for t in tokens(text) if t not in STOPWORDS and t not in QUESTION_WORDS]


def salient_terms(question: str) -> list[str]:
    """Names, acronyms and numbers the answer's evidence must mention (stemmed, lower-case)."""
    found = []
    for i, raw in enumerate(re.findall(r"[A-Za-z0-9][\w.\-]*", question)):
        word = raw.rstrip(".")
        low = word.lower()
        if low in STOPWORDS or low in QUESTION_WORDS:
            continue
        is_name = word[0].isupper() and (i > 0 or low not in QUESTION_WORDS)
        if is_name or any(c.isdigit() for c in word) or (word.isupper() and len(word) > 1):
            found.append(stem(low))
    return list(dict.fromkeys(found))


def normalise_for_match(text: str) -> set[str]:
    """Stemmed token set of a text, with demonyms mapped to their country."""
    return {stem(t) for t in tokens(text)}

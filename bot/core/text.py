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
QUESTION_WORDS = frozenset(("what when where which who whom whose why how "
                            "did does do is are was").split())
# Multi-word places first become one token, so "New Zealand" and "NZ" meet.
PHRASES = [
    (re.compile(r"\bnew\s+zealand", re.I), "nz"),
    (re.compile(r"\bunited\s+kingdom|\bgreat\s+britain", re.I), "uk"),
    (re.compile(r"\bunited\s+states(?:\s+of\s+america)?", re.I), "usa"),
    (re.compile(r"\bU\.S\.(?:A\.)?|\bUSA?\b"), "usa"),
    (re.compile(r"\beuropean\s+union|\bE\.U\.", re.I), "eu"),
    (re.compile(r"\bsouth\s+korea", re.I), "southkorea"),
    (re.compile(r"\bsouth\s+africa", re.I), "southafrica"),
]
# Words one of which a text must contain for the phrase at the same place in PHRASES to match
# (lower-cased, except for the case-sensitive U.S. pattern). A substring test is far cheaper
# than a case-insensitive regex pass, and those passes dominated tokenising a large index.
_NEEDLES: list[tuple[tuple[str, ...], bool]] = [
    (("zealand",), True), (("kingdom", "britain"), True), (("states",), True),
    (("US", "U.S."), False), (("union", "e.u."), True), (("korea",), True), (("africa",), True),
]
COUNTRIES = frozenset(
    """afghanistan albania algeria argentina armenia australia austria azerbaijan bahrain bangladesh
    belarus belgium bolivia bosnia brazil bulgaria cambodia cameroon canada chile china colombia
    croatia cuba cyprus czechia czech denmark ecuador egypt estonia ethiopia finland france georgia
    germany ghana greece hungary iceland india indonesia iran iraq ireland israel italy japan jordan
    kazakhstan kenya kosovo kuwait latvia lebanon lithuania luxembourg malaysia malta mexico moldova
    mongolia montenegro morocco myanmar nepal netherlands nigeria norway oman pakistan panama peru
    philippines poland portugal qatar romania russia rwanda serbia singapore slovakia slovenia spain
    sweden switzerland taiwan tanzania thailand tunisia turkey uganda ukraine uruguay uzbekistan
    venezuela vietnam zambia zimbabwe nz uk usa eu southkorea southafrica korea holland
    uae""".split()
)
DEMONYMS = {
    "japanese": "japan", "chinese": "china", "british": "uk", "britain": "uk", "english": "uk",
    "england": "uk", "american": "usa", "america": "usa", "u.k": "uk",
    "zealand": "nz", "kiwi": "nz",
    "german": "germany", "french": "france", "swedish": "sweden", "canadian": "canada",
    "australian": "australia", "indian": "india", "european": "eu",
    "italian": "italy", "portuguese": "portugal", "danish": "denmark", "estonian": "estonia",
    "belgian": "belgium", "dutch": "netherlands", "polish": "poland", "korean": "korea",
    "taiwanese": "taiwan", "vietnamese": "vietnam", "brazilian": "brazil", "mexican": "mexico",
    "russian": "russia", "spanish": "spain", "norwegian": "norway", "finnish": "finland",
    "czechia": "czech", "holland": "netherlands", "swiss": "switzerland", "irish": "ireland",
    "austrian": "austria", "romanian": "romania", "hungarian": "hungary", "greek": "greece",
    "lithuanian": "lithuania", "latvian": "latvia", "malaysian": "malaysia", "kenyan": "kenya",
    "emirati": "uae", "filipino": "philippines", "thai": "thailand", "turkish": "turkey",
    # capitals that stand for their governments ("Beijing's foreign ministry", "Ottawa said")
    "beijing": "china", "washington": "usa", "london": "uk", "tokyo": "japan",
    "berlin": "germany", "paris": "france", "ottawa": "canada", "canberra": "australia",
    "wellington": "nz", "brussels": "eu", "moscow": "russia", "taipei": "taiwan",
    "stockholm": "sweden", "rome": "italy", "lisbon": "portugal", "hanoi": "vietnam",
}
# Capitalised words that name nothing in particular (sentence starts, titles).
GENERIC_NAMES = frozenset(
    """can could should would will is are was were has have had did does do tell give show list
    please any the a an in on of for to and or but huawei zte minister ministry government
    spokesman spokesperson chairman secretary president prime commissioner""".split()
)
_POSSESSIVE = re.compile(r"'s\b")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*[A-Za-z0-9]|[A-Za-z0-9]")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (keeps 5G, 3G/4G parts); multi-word places become one token."""
    text = text.replace("’", "'")
    if "'s" in text:
        text = _POSSESSIVE.sub("", text)
    lower = text.lower()
    for (pattern, token), (needles, folded) in zip(PHRASES, _NEEDLES, strict=True):
        haystack = lower if folded else text
        if any(n in haystack for n in needles):
            text = pattern.sub(f" {token} ", text)
    return [t.lower().strip(".") for t in _TOKEN.findall(text)]


@lru_cache(maxsize=1 << 16)  # a pure function called thousands of times per answer on few words
def stem(word: str) -> str:
    """A tiny suffix stripper: enough to match ban/bans/banned, restrict/restricted/restrictions."""
    word = DEMONYMS.get(word, word)
    for suffix in ("ations", "ation", "ments", "ment", "ings", "ing", "ied", "ies", "als", "al",
                   "ed", "es", "s"):
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
    """Places, names, acronyms and numbers the answer's evidence must mention (stemmed)."""
    text = question.replace("’", "'")
    for pattern, token in PHRASES:
        text = pattern.sub(f" {token.upper()} ", text)
    found = []
    for i, raw in enumerate(re.findall(r"[A-Za-z0-9][\w.\-]*", text)):
        word = raw.rstrip(".").removesuffix("'s")
        low = word.lower()
        if low in STOPWORDS or low in QUESTION_WORDS or low in GENERIC_NAMES:
            continue
        place = DEMONYMS.get(low, low) in COUNTRIES
        capital = word[0].isupper() and (i > 0 or word.isupper())  # not just a sentence start
        if place or capital or any(c.isdigit() for c in word):
            found.append(stem(low))
    return list(dict.fromkeys(found))


@lru_cache(maxsize=8192)  # the same passages and sentences are matched many times per answer
def normalise_for_match(text: str) -> frozenset[str]:
    """Stemmed token set of a text, with demonyms mapped to their country."""
    return frozenset(stem(t) for t in tokens(text))


# Stemmed terms (what `normalise_for_match` and `salient_terms` give) -> country name, so
# "France" (stem "franc") and "Portugal" (stem "portug") are found as countries too.
_COUNTRY_BY_TERM = {stem(c): c for c in sorted(COUNTRIES) if DEMONYMS.get(c, c) == c}
COUNTRY_TERMS = frozenset(_COUNTRY_BY_TERM)


def country_token(text: str) -> str | None:
    """The country a word or name stands for ("Britain's" -> "uk", "French" -> "france")."""
    found = {_COUNTRY_BY_TERM[t] for t in normalise_for_match(text) if t in _COUNTRY_BY_TERM}
    return found.pop() if len(found) == 1 else None


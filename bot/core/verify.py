"""Check a generated answer against the passages it cites before anyone sees it (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.core.sentences import split_sentences
from bot.core.text import content_terms, normalise_for_match, salient_terms
from bot.core.types import Passage

Embed = Callable[[list[str]], np.ndarray]

# A claim needs most of its content words in the passages it cites, most of the words it adds to the
# question too (topic words alone prove nothing), and its meaning close to one of their sentences.
# Thresholds measured on the corpus with all-MiniLM-L6-v2 (see tests/test_verify.py).
MIN_LEXICAL = 0.6
MIN_NOVEL = 0.6
MIN_SHARE = 0.3  # of a claim's words that one of several cited passages must carry to stay cited
MIN_TERMS = 3  # a bare word or two ("HACKED") is not a claim, even when a passage contains it
MIN_COSINE = 0.5
MARKERS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
# A run of markers right after sentence-final punctuation belongs to the sentence before it.
_TRAILING = re.compile(r"([.!?][\"”’')]*)((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)")
QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


@dataclass
class Claim:
    """One sentence of a generated answer: its words and the passage numbers (1-based) it cites."""

    text: str
    cited: list[int]
    invented: list[int] = field(default_factory=list)  # numbers that point to no passage


@dataclass
class Verdict:
    """What survived verification: kept (sentence, passage indexes) and dropped (sentence, why)."""

    kept: list[tuple[str, list[int]]]
    dropped: list[tuple[str, str]]
    total: int


def clean_output(text: str) -> str:
    """The model's text without reasoning blocks and surrounding whitespace."""
    return _THINK.sub("", text).strip()


def parse_claims(text: str, n_passages: int) -> list[Claim]:
    """Split an answer into sentences and their citation numbers; invalid numbers set apart."""
    text = _TRAILING.sub(lambda m: m.group(2) + m.group(1), clean_output(text))
    claims = []
    for start, end in split_sentences(text):
        sentence = text[start:end]
        numbers = [int(n) for group in MARKERS.findall(sentence) for n in group.split(",")]
        words = re.sub(r"\s+([.!?,;:])", r"\1", MARKERS.sub("", sentence)).strip()
        if not words:
            continue
        valid = list(dict.fromkeys(n for n in numbers if 1 <= n <= n_passages))
        invented = [n for n in numbers if not 1 <= n <= n_passages]
        claims.append(Claim(words, valid, invented))
    return claims


def quoted_spans(sentence: str) -> list[str]:
    """The spans of a sentence inside straight or curly double quotes."""
    return [a or b for a, b in QUOTED.findall(sentence)]


def _typographic(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'").replace("‘", "'"))


def quote_is_verbatim(quote: str, texts: Sequence[str]) -> bool:
    """True when the quote is an exact substring of a text (apostrophe style and spacing aside)."""
    wanted = _typographic(quote.strip())
    return bool(wanted) and any(wanted in _typographic(t) for t in texts)


def lexical_support(claim: str, texts: Sequence[str], ignore: str = "") -> float:
    """Share of the claim's content terms (less those of `ignore`) found in the texts (0..1)."""
    terms = set(content_terms(claim)) - set(content_terms(ignore))
    if not terms:
        return 0.0
    present: set[str] = set()
    for t in texts:
        present |= normalise_for_match(t)
    return len(terms & present) / len(terms)


def names_supported(claim: str, texts: Sequence[str]) -> bool:
    """Every name, acronym and number of the claim appears in the texts."""
    present: set[str] = set()
    for t in texts:
        present |= normalise_for_match(t)
    return all(all(part in present for part in term.split()) for term in salient_terms(claim))


def closest_sentences(claim: str, passages: Sequence[Passage], per_passage: int = 2) -> list[str]:
    """Each passage's sentences sharing most content terms with the claim (cosine candidates)."""
    terms = set(content_terms(claim))
    out = []
    for p in passages:
        sentences = [p.text[a:b] for a, b in split_sentences(p.text)] or [p.text]
        sentences.sort(key=lambda x: -len(terms & normalise_for_match(x)))
        out += sentences[:per_passage]
    return list(dict.fromkeys(out))


def best_cosine(claim_vector: np.ndarray, sentence_vectors: np.ndarray) -> float:
    """Highest cosine between a unit claim vector and unit sentence vectors."""
    if not len(sentence_vectors):
        return 0.0
    return float(np.max(sentence_vectors @ claim_vector))


def support_text(passage: Passage) -> str:
    """What a citation vouches for: the passage with its title, outlet and date."""
    return " ".join([passage.title, passage.meta.outlet, passage.published, passage.text])


def words_supported(claim: str, texts: Sequence[str], question: str) -> bool:
    """The claim's words, the words it adds to the question, and its names are in the texts."""
    novel = set(content_terms(claim)) - set(content_terms(question))
    return (lexical_support(claim, texts) >= MIN_LEXICAL and names_supported(claim, texts)
            and (not novel or lexical_support(claim, texts, question) >= MIN_NOVEL))


def textual_problem(claim: Claim, passages: Sequence[Passage], question: str = "") -> str:
    """Why the claim fails its citation, quote and word checks; "" when it passes them."""
    if not claim.cited:
        return "no citation"
    if len(set(content_terms(claim.text))) < MIN_TERMS:
        return "too short to be a claim"
    for quote in quoted_spans(claim.text):
        if not quote_is_verbatim(quote, [passages[n - 1].text for n in claim.cited]):
            return "quote not in the cited passages"
    if not words_supported(claim.text, [support_text(passages[n - 1]) for n in claim.cited],
                           question):
        return "words not in the cited passages"
    return ""


def useful_citations(claim: Claim, passages: Sequence[Passage], question: str = "") -> list[int]:
    """The cited passages that carry a fair share of what the claim adds to the question."""
    novel = set(content_terms(claim.text)) - set(content_terms(question))
    ignore = question if novel else ""
    useful = [n for n in claim.cited
              if lexical_support(claim.text, [passages[n - 1].text], ignore) >= MIN_SHARE]
    return useful or claim.cited  # the words were found in the cited passages together


def meaning_scores(claims: Sequence[Claim], passages: Sequence[Passage],
                   embed: Embed) -> list[float]:
    """Each claim's best cosine with the closest sentences of the passages it cites."""
    if not claims:
        return []
    candidates = [closest_sentences(c.text, [passages[n - 1] for n in c.cited]) for c in claims]
    unique = list(dict.fromkeys(x for group in candidates for x in group))
    vectors = embed([c.text for c in claims] + unique)  # one batch: the model call dominates
    row = {x: vectors[len(claims) + i] for i, x in enumerate(unique)}
    return [best_cosine(vectors[i], np.array([row[x] for x in group]))
            for i, group in enumerate(candidates)]


def verify(text: str, passages: Sequence[Passage], embed: Embed, question: str = "") -> Verdict:
    """Keep sentences whose citations, quotes, words and meaning hold up against the passages."""
    claims = parse_claims(text, len(passages))
    problems = [textual_problem(c, passages, question) for c in claims]
    pending = [c for c, problem in zip(claims, problems, strict=True) if not problem]
    scores = dict(zip(map(id, pending), meaning_scores(pending, passages, embed), strict=True))
    kept, dropped = [], []
    for claim, problem in zip(claims, problems, strict=True):
        if not problem and scores[id(claim)] < MIN_COSINE:
            problem = "meaning not in the cited passages"
        if problem:
            dropped.append((claim.text, problem))
        else:
            kept.append((claim.text, useful_citations(claim, passages, question)))
    return Verdict(kept=kept, dropped=dropped, total=len(claims))

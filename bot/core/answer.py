"""The extractive answerer: the answer is made of the corpus's own sentences, each cited."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.citations import CitationBook
from bot.core.quotes import extract_quotes
from bot.core.sentences import split_sentences
from bot.core.text import content_terms, normalise_for_match, salient_terms
from bot.core.types import NOT_FOUND, Answer, Passage

MAX_SENTENCES = 3
MAX_SPEAKER_SENTENCES = 8


def not_found(question: str) -> Answer:
    """The fixed not-in-the-corpus answer, with no citations."""
    return Answer(question=question, text=NOT_FOUND, citations=[], found=False)


def evidence_covers(question: str, passages: Sequence[Passage]) -> bool:
    """Every name, acronym and number of the question appears somewhere in the evidence."""
    present: set[str] = set()
    for p in passages:
        present |= normalise_for_match(" ".join([p.title, p.text, str(p.meta.get("outlet", "")),
                                                 str(p.meta.get("countries", ""))]))
    return all(term in present or _multiword_present(term, present)
               for term in salient_terms(question))


def _multiword_present(term: str, present: set[str]) -> bool:
    return " " in term and all(part in present for part in term.split())


def _is_heading(sentence: str) -> bool:
    return not re.search(r"[.!?\"”’)]$", sentence.strip()) or len(sentence.split()) < 5


def candidate_sentences(passages: Sequence[Passage]) -> list[tuple[Passage, int, int]]:
    """(passage, start, end) of every answer-worthy sentence, offsets within the passage text."""
    out = []
    for p in passages:
        for start, end in split_sentences(p.text):
            if not _is_heading(p.text[start:end]):
                out.append((p, start, end))
    return out


def _similar(a: set[str], b: set[str]) -> bool:
    return bool(a and b) and len(a & b) / min(len(a), len(b)) > 0.7


def compose(question: str, passages: Sequence[Passage], min_relevance: float) -> Answer:
    """A few of the best sentences of the retrieved passages, each with its citation."""
    if not passages or max(p.score for p in passages) < min_relevance:
        return not_found(question)
    if not evidence_covers(question, passages[:5]):
        return not_found(question)
    terms = content_terms(question)
    salient = salient_terms(question)
    scored = []
    for p, s, e in candidate_sentences(passages[:5]):
        present = normalise_for_match(p.text[s:e])
        lexical = sum(t in present for t in terms) / max(1, len(terms))
        names = sum(t in present for t in salient) / max(1, len(salient)) if salient else 0.0
        scored.append((0.45 * lexical + 0.2 * names + 0.35 * p.score, p, s, e, present))
    scored.sort(key=lambda x: x[0], reverse=True)
    if not scored or scored[0][0] <= 0:
        return not_found(question)
    book, chosen = CitationBook(), []
    for score, p, s, e, present in scored:
        if len(chosen) == MAX_SENTENCES or score < 0.6 * scored[0][0]:
            break
        if any(_similar(present, other[4]) for other in chosen):
            continue
        chosen.append((score, p, s, e, present))
    sentences = [(p.text[s:e], [book.cite(p)]) for _, p, s, e, _ in chosen]
    text = " ".join(f"{sentence} [{nums[0]}]" for sentence, nums in sentences)
    return Answer(question=question, text=text, citations=book.citations, found=True,
                  sentences=sentences)


def compose_speaker(question: str, speaker: str, spans: Sequence[tuple[Passage, int, int]]) -> Answer:
    """What one speaker said: their attributed sentences, verbatim, each cited, quotes verified."""
    if not spans:
        return not_found(question)
    book = CitationBook()
    lines, quotes, sentences = [], [], []
    for p, s, e in spans[:MAX_SPEAKER_SENTENCES]:
        sentence = p.text[s:e]
        number = book.cite(p)
        for quote in extract_quotes(sentence, speaker, p.chunk_id, p.start + s):
            if quote.text in p.text:  # verified before it is shown
                quotes.append(quote)
        lines.append(f"- {sentence} [{number}]")
        sentences.append((sentence, [number]))
    text = f"What {speaker} said, according to the corpus:\n" + "\n".join(lines)
    return Answer(question=question, text=text, citations=book.citations, found=True,
                  quotes=quotes, sentences=sentences)

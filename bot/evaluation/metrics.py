"""Mechanical, reproducible judgement of answers against the gold set.

Support of an answer item by a cited passage: the item's words are an exact substring of the
passage (extractive answers), or they share at least 60% of their content terms with the passage
and their embeddings have cosine >= 0.6 (paraphrases from an LLM answerer).
Key facts: a fact is present when any of its alternatives appears in the answer's text as shown
(case-insensitive, whitespace-normalised, "per cent" spelled as "%").
A wrong speaker: a speaker answer's items, or a quote, given to someone other than the one asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.text import content_terms, normalise_for_match
from bot.core.types import Answer, Passage
from bot.evaluation.gold import GoldItem
from bot.render.text import answer_text

Embed = Callable[[list[str]], "object"]


_PER_CENT = re.compile(r"(\d)\s*-?\s*(?:per\s*-?\s*cent|percent)\b", re.I)


def normalise(text: str) -> str:
    """Lower-case, unified quotes, single spaces, one spelling of per cent ("35 per cent",
    "35-per-cent", "35 percent": "35%")."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return " ".join(_PER_CENT.sub(r"\1%", text.lower()).split())


def fact_present(alternatives: Sequence[str], text: str) -> bool:
    """Any alternative of a key fact appears in the text."""
    haystack = normalise(text)
    return any(normalise(alt) in haystack for alt in alternatives)


def supports(sentence: str, passage: str, embed: Embed | None = None) -> bool:
    """The passage supports the sentence (see module docstring)."""
    sentence = sentence.strip()
    if not sentence:
        return False
    if normalise(sentence) in normalise(passage):
        return True
    terms = content_terms(sentence)
    if not terms:
        return False
    present = normalise_for_match(passage)
    if sum(t in present for t in terms) / len(terms) < 0.6:
        return False
    if embed is None:
        return True
    vectors = embed([sentence, passage])
    return float(vectors[0] @ vectors[1]) >= 0.6


def doc_matches(passage: Passage, docs: Sequence[str]) -> bool:
    """The passage comes from one of the gold documents (file name, '#entry' suffixes ignored)."""
    source = passage.meta.source.split("#")[0]
    if source in docs:  # real pages are named by URL
        return True
    return not source.startswith(("http://", "https://")) and Path(source).name in set(docs)


@dataclass
class ItemResult:
    """What one gold item scored."""

    item: GoldItem
    answer: Answer
    seconds: float
    rank: int | None = None  # 1-based rank of the first supporting passage
    facts_found: int = 0
    cited_pairs: int = 0
    supported_pairs: int = 0
    sentences: int = 0
    supported_sentences: int = 0
    wrong_speaker: int = 0
    notes: list[str] = field(default_factory=list)


def judge(item: GoldItem, answer: Answer, retrieved: Sequence[Passage], seconds: float,
          embed: Embed | None = None) -> ItemResult:
    """Score one answer against its gold item."""
    result = ItemResult(item, answer, seconds)
    result.rank = next((i + 1 for i, p in enumerate(retrieved) if doc_matches(p, item.docs)), None)
    if not answer.found:
        return result
    result.facts_found = sum(fact_present(f, answer_text(answer)) for f in item.key_facts)
    passages = {c.number: c.passage for c in answer.citations}
    for said in answer.items:
        result.sentences += 1
        verdicts = [supports(said.text, passages[n], embed) for n in said.citations
                    if n in passages]
        result.cited_pairs += len(verdicts)
        result.supported_pairs += sum(verdicts)
        result.supported_sentences += any(verdicts)
    if item.type == "what_said" and item.speaker:
        result.wrong_speaker += int(answer.kind == "speaker" and any(
            item.speaker not in said.speaker for said in answer.items))
        result.wrong_speaker += sum(q.speaker != item.speaker for q in answer.quotes)
    return result


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank."""
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summarise(results: Sequence[ItemResult]) -> dict[str, float]:
    """The harness's metrics over a set of item results."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    answered = [r for r in answerable if r.answer.found]
    facts = sum(len(r.item.key_facts) for r in answerable)

    def ratio(num: float, den: float) -> float:
        return round(num / den, 4) if den else 1.0

    latencies = [r.seconds * 1000 for r in results]
    return {
        "items": len(results),
        "recall_at_5": ratio(sum(1 for r in answerable if r.rank and r.rank <= 5), len(answerable)),
        "mrr": ratio(sum(1 / r.rank for r in answerable if r.rank), len(answerable)),
        "key_fact_recall": ratio(sum(r.facts_found for r in answerable), facts),
        "citation_precision": ratio(sum(r.supported_pairs for r in answered),
                                    sum(r.cited_pairs for r in answered)),
        "citation_recall": ratio(sum(r.supported_sentences for r in answered),
                                 sum(r.sentences for r in answered)),
        "abstention_accuracy": ratio(sum(not r.answer.found for r in unanswerable),
                                     len(unanswerable)),
        "answer_rate": ratio(len(answered), len(answerable)),
        "wrong_speaker": sum(r.wrong_speaker for r in results),
        "latency_p50_ms": round(percentile(latencies, 50), 1),
        "latency_p95_ms": round(percentile(latencies, 95), 1),
    }

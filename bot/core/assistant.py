"""The core's one entry point for every front end: ask, quote, list sources, describe the index."""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from bot.core import answer as answering
from bot.core.config import Settings
from bot.core.embeddings import get_embedder
from bot.core.errors import EmptyIndexError, IndexReplacedError, IndexUnavailableError
from bot.core.filters import Filters
from bot.core.lexical import UNREAD
from bot.core.questions import (
    clean_question,
    date_and_kind_filters,
    mentioned_speaker,
    parse_speaker_question,
    question_type,
    wants_latest,
)
from bot.core.quotes import resolve_role, resolve_speaker
from bot.core.retrieval import Retriever, lexical_overlap
from bot.core.schema import DocumentRecord, canonical_country
from bot.core.store import Store
from bot.core.text import content_terms
from bot.core.types import Answer, Passage

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)
SPEAKER_CHUNK_LIMIT = 300
R = TypeVar("R")


def reconnects(method: Callable[..., R]) -> Callable[..., R]:
    """On IndexUnavailableError forget the store, so the next call connects afresh; when the
    collection was replaced (a rebuild elsewhere), reopen it and try once more at once. Only
    the outermost call in a thread does this: nested ones would multiply the attempts."""
    @functools.wraps(method)
    def wrapper(self: Assistant, *args: object, **kwargs: object) -> R:
        if getattr(_calls, "depth", 0):
            return method(self, *args, **kwargs)
        _calls.depth = 1
        try:
            try:
                return _forgetting_store(self, method, *args, **kwargs)
            except IndexReplacedError:
                return _forgetting_store(self, method, *args, **kwargs)
        finally:
            _calls.depth = 0
    return wrapper


_calls = threading.local()  # depth of reconnects-wrapped calls in this thread


def _forgetting_store(assistant: Assistant, method: Callable[..., R], *args: object,
                      **kwargs: object) -> R:
    try:
        return method(assistant, *args, **kwargs)
    except IndexUnavailableError:
        with assistant._lock:
            assistant._store = None
        raise


class Assistant:
    """Answers questions from the index; shares one store and one model across callers."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self._store = store
        self._lock = threading.Lock()
        self._records: tuple[object, dict[str, DocumentRecord]] | None = None
        self._roles: tuple[dict, dict[str, list[str]]] | None = None
        self._countries: tuple[dict, list[str]] | None = None
        self._retriever: Retriever | None = None
        self._ready_at: object = UNREAD  # no generation checked yet (None is a generation)

    @property
    def store(self) -> Store:
        """The store, opened on first use (so a down Chroma server is retried on the next call)."""
        with self._lock:
            if self._store is None:
                self._store = Store(self.settings)
            return self._store

    @property
    def retriever(self) -> Retriever:
        """Hybrid retrieval over the store (its BM25 side index built on first use)."""
        store = self.store
        with self._lock:  # one Retriever (one BM25 build) when a question races the warm-up
            if self._retriever is None or self._retriever.store is not store:
                self._retriever = Retriever(store)
            return self._retriever

    # ---- index facts
    @reconnects
    def records(self, generation: object = UNREAD) -> dict[str, DocumentRecord]:
        """Document records, cached until the index generation changes."""
        if generation is UNREAD:
            generation = self.store.version()
        if self._records is None or self._records[0] != generation:
            self._records = (generation, self.store.doc_records())
        return self._records[1]

    @reconnects
    def speakers(self, generation: object = UNREAD) -> list[str]:
        """Every speaker the index attributes words to, sorted."""
        names: set[str] = set()
        for record in self.records(generation).values():
            names.update(record.speakers)
        return sorted(names, key=str.lower)

    @reconnects
    def speaker_roles(self, generation: object = UNREAD) -> dict[str, list[str]]:
        """What the texts say each speaker is ("Transport Minister", "Valdovia's trade envoy")."""
        records = self.records(generation)
        if self._roles is None or self._roles[0] is not records:
            roles: dict[str, list[str]] = {}
            for record in records.values():
                for name, found in record.speaker_roles.items():
                    known = roles.setdefault(name, [])
                    known.extend(r for r in found if r not in known)
            self._roles = (records, roles)
        return self._roles[1]

    @reconnects
    def countries(self, generation: object = UNREAD) -> list[str]:
        """Every country the index's documents are about, by canonical name, sorted."""
        records = self.records(generation)  # read once per index version, not per question
        if self._countries is None or self._countries[0] is not records:
            names = {c for record in records.values() for c in record.countries}
            self._countries = (records, sorted(names))
        return self._countries[1]

    @reconnects
    def stats(self) -> dict:
        """Document and chunk counts and the last ingest time."""
        return {"documents": len(self.records()), "chunks": self.store.count(),
                "updated_at": self.store.index_record().get("updated_at")}

    @reconnects
    def sources(self, search: str | None = None) -> list[dict]:
        """Documents in the index (newest first), optionally filtered by words in title/outlet."""
        terms = content_terms(search or "")
        rows = [r for r in self.records().values()
                if not terms or lexical_overlap(terms, f"{r.title} {r.outlet}") > 0]
        rows.sort(key=lambda r: (r.published_text, r.title), reverse=True)
        return [{"doc_id": r.doc_id, "title": r.title, "outlet": r.outlet,
                 "published": r.published_text, "url": r.url, "source": r.source,
                 "kind": r.kind} for r in rows]

    @reconnects
    def ensure_ready(self) -> object:
        """EmptyIndexError when there is nothing to answer from (counted once per generation);
        returns the generation read, for the rest of the question to reuse."""
        generation = self.store.version()  # cheaper than a count
        if self._ready_at != generation:
            if self.store.count() == 0:
                raise EmptyIndexError()
            self._ready_at = generation
        return generation

    @reconnects
    def warm_up(self) -> None:
        """Open the index and build its side indexes now rather than on the first question."""
        if self.store.count():
            self.retriever.lexical.refresh(self.store)
            self.records()

    # ---- answers
    @reconnects
    def ask(self, question: str, filters: Filters | None = None) -> Answer:
        """A cited answer to a question, or the not-in-the-corpus answer."""
        question = clean_question(question, self.settings.max_question_chars)
        generation = self.ensure_ready()
        if filters and filters.country:
            known = self.countries(generation)
            if canonical_country(filters.country) not in known:
                return answering.unknown_country(question, filters.country, known)
        kind = question_type(question)
        asked = parse_speaker_question(question)
        if asked is None and kind == "fact":
            asked = mentioned_speaker(question, self.speakers(generation))
        unknown_speaker = None
        if asked:
            names = self._resolve(asked.who, generation)
            if names:
                return self._speaker_answer(question, names, asked.about, filters, generation)
            unknown_speaker = asked.who
        embedder = get_embedder(self.settings)
        vector = embedder.embed([question])[0]
        k = 24 if kind in ("list", "people") else self.settings.top_k  # lists need breadth
        passages = self.passages(question, filters, k=k, vector=vector, generation=generation)
        latest = wants_latest(question)
        similarity = None
        if self.settings.sentence_similarity:
            def similarity(sentences: list[str]) -> list[float]:
                return [float(x) for x in embedder.embed(sentences) @ vector]
        answer = answering.compose(question, passages, self.settings.min_relevance, kind, latest,
                                   speaker=unknown_speaker, similarity=similarity)
        if self.settings.answerer == "llm":  # optional: synthesised, verified, else `answer`
            from bot.core.llm import answer_with_llm

            return answer_with_llm(question, passages, answer, self.settings)
        return answer

    @reconnects
    def passages(self, question: str, filters: Filters | None = None,
                 k: int | None = None, vector: np.ndarray | None = None,
                 generation: object = UNREAD) -> list[Passage]:
        """The retrieved passages for a question; dates/kinds stated in it narrow the search."""
        if generation is UNREAD:
            generation = self.store.version()
        if vector is None:
            vector = get_embedder(self.settings).embed([question])[0]
        k = k or self.settings.top_k
        latest = wants_latest(question)
        stated = date_and_kind_filters(question)
        found = self.retriever.retrieve(question, vector, k, filters, latest, generation)
        if not stated:
            return found
        # "in 2019": passages published then lead, but an event of 2019 reported later or on
        # an undated page still counts, so the best unnarrowed ones follow
        narrowed = Filters(**{**(filters.__dict__ if filters else {}), **stated})
        dated = self.retriever.retrieve(question, vector, k, narrowed, latest, generation)
        merged: dict[str, Passage] = {}
        for p in [*dated[: k // 2], *found, *dated[k // 2:]]:
            merged.setdefault(p.chunk_id, p)
        return list(merged.values())[:k]

    @reconnects
    def quote(self, speaker: str, about: str | None = None,
              filters: Filters | None = None) -> Answer:
        """What a named speaker said (optionally about a topic), verbatim and cited."""
        question = clean_question(f"What did {speaker} say" + (f" about {about}" if about else ""),
                                  self.settings.max_question_chars)
        generation = self.ensure_ready()
        names = self._resolve(speaker, generation)
        if not names:
            return answering.not_found(question)
        return self._speaker_answer(question, names, about, filters, generation)

    def _resolve(self, who: str, generation: object) -> list[str]:
        """The speakers a user's words name: a name, else a role, else the name before a
        possessive ("Wu Ken's warning to Berlin" -> "Wu Ken")."""
        known = self.speakers(generation)
        names = resolve_speaker(who, known) or resolve_role(who, self.speaker_roles(generation))
        owner = re.match(r"(.+?)['’]s\b", who)
        if not names and owner:
            names = resolve_speaker(owner.group(1), known)
        return names

    def _speaker_answer(self, question: str, names: list[str], about: str | None,
                        filters: Filters | None, generation: object = UNREAD) -> Answer:
        """The words of the person asked for; when a role names several people (spokespeople
        of one ministry), the one whose words best match the topic, else the first."""
        best: tuple[float, str, list] | None = None
        terms = content_terms(about or question)
        places = answering.places_in(about or "")  # "canada"
        for name in names[:6]:
            spans = self.speaker_spans(name, about, filters)
            if len(names) > 1 and places:  # several hold the role: the one about that place
                spans = [(p, s, e) for p, s, e in spans if answering.names_places(p, places)]
            fit = max((lexical_overlap(terms, p.text[s:e]) for p, s, e in spans), default=-1.0)
            if spans and (best is None or fit > best[0]):
                best = (fit, name, spans)
        if best is None:
            return answering.not_found(question)
        _, speaker, spans = best
        role = next(iter(self.speaker_roles(generation).get(speaker, [])), "")
        return answering.compose_speaker(question, speaker, spans, role)

    @reconnects
    def speaker_spans(self, speaker: str, about: str | None = None,
                      filters: Filters | None = None) -> list[tuple[Passage, int, int]]:
        """The speaker's attributed sentences: (passage, start, end) in passage offsets."""
        scoped = Filters(**{**(filters.__dict__ if filters else {}), "speaker": speaker})
        passages = self.store.get(where=scoped.where(), limit=SPEAKER_CHUNK_LIMIT)
        found: dict[tuple[str, int], list[tuple[Passage, int, int]]] = {}
        for p in passages:
            for start, end, who in p.meta.attributions:
                if who == speaker and p.start <= start and end <= p.end:
                    found.setdefault((p.doc_id, start), []).append((p, start, end))
        per_chunk: dict[str, int] = {}
        for options in found.values():
            for p, _, _ in options:
                per_chunk[p.chunk_id] = per_chunk.get(p.chunk_id, 0) + 1
        spans = []
        for options in found.values():  # cite the chunk that holds most of the speaker's words
            p, start, end = max(options, key=lambda o: per_chunk[o[0].chunk_id])
            spans.append((p, start - p.start, end - p.start))
        spans.sort(key=lambda s: (s[0].published, s[0].doc_id, s[0].start + s[1]))
        if about:  # the words on the topic first: the sentence's terms, then its passage's
            terms = content_terms(about)
            spans.sort(key=lambda s: -(lexical_overlap(terms, s[0].text[s[1]:s[2]])
                                       + 0.5 * lexical_overlap(terms, s[0].text)))
        return spans



"""Plain data types carrying the whole flow: corpus -> ingest -> store <- retrieve -> answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.core.dates import PartialDate
from bot.core.schema import ChunkMeta


@dataclass(frozen=True)
class Document:
    """A source text with its metadata (front matter, HTML metadata or PDF info)."""

    doc_id: str
    text: str
    title: str
    source: str  # file path or URL it was read from
    url: str = ""
    outlet: str = ""
    published: PartialDate | None = None  # as precise as the source gives it
    kind: str = "article"
    speakers: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    language: str = "en"
    author: str = ""
    pages: tuple[int, ...] = ()  # start offset of each PDF page, when the source has pages
    timeline: Mapping[str, Any] | None = field(default=None, hash=False)  # a timeline entry


@dataclass(frozen=True)
class Attribution:
    """A span of a document's text whose words belong to `speaker` (quoted or reported)."""

    start: int
    end: int
    speaker: str


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, with its exact character offsets in the document's text."""

    chunk_id: str
    doc_id: str
    position: int
    text: str
    start: int
    end: int
    attributions: tuple[Attribution, ...] = ()  # offsets relative to the document


@dataclass
class Passage:
    """A retrieved chunk, its metadata and its relevance to the question (higher is better)."""

    chunk_id: str
    doc_id: str
    text: str
    start: int
    end: int
    meta: ChunkMeta
    score: float
    dense: float = 0.0
    also_in: list[dict] = field(default_factory=list)  # near-duplicates from other outlets

    @property
    def title(self) -> str:
        return self.meta.title

    @property
    def published(self) -> str:
        return self.meta.published_text


@dataclass(frozen=True)
class Quote:
    """Words of one speaker, verbatim: `text` is an exact substring of the passage it cites."""

    speaker: str
    text: str
    chunk_id: str
    start: int  # offsets in the document
    end: int


@dataclass
class Citation:
    """A numbered source of an answer: the passage and where it came from."""

    number: int
    doc_id: str
    chunk_id: str
    title: str
    outlet: str
    published: str
    url: str
    source: str
    passage: str
    start: int
    end: int
    page: int | None = None
    also_in: list[dict] = field(default_factory=list)

    @property
    def link(self) -> str:
        """The URL when there is one, else the file it came from."""
        return self.url or self.source


AnswerKind = Literal["fact", "list", "timeline", "speaker", "not_found"]
"""fact: sentences answering the question; list: one item per country or person (`label`);
timeline: one item per dated measure (`label` the date); speaker: one person's words;
not_found: the corpus does not say (the item is the sentence saying so)."""


@dataclass(frozen=True)
class AnswerItem:
    """One statement of an answer: its words and the numbers of the citations vouching for them."""

    text: str
    citations: tuple[int, ...] = ()
    speaker: str = ""  # whose words these are (speaker answers, people lists)
    role: str = ""  # the speaker's role as the texts give it
    date: str = ""  # the source's date, when the answer is dated (timelines, speaker's words)
    label: str = ""  # a list item's label: the country, person or date it is about


@dataclass
class Answer:
    """An answer made of items, each citing numbers of `citations`; rendered by `bot.render`."""

    question: str
    kind: AnswerKind
    items: list[AnswerItem]
    citations: list[Citation] = field(default_factory=list)
    answerer: str = "extractive"
    quotes: list[Quote] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """False when the corpus does not answer the question."""
        return self.kind != "not_found"


NOT_FOUND = "I could not find an answer to that in the corpus."

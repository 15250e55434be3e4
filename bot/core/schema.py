"""The metadata schema: the fields documents and chunks carry, how they are stored in Chroma, and
the one canonical name of every country, bloc and vendor.

Chroma keeps flat metadata (str, int, float, bool). The schema stores lists and mappings as JSON
text and marks what a chunk is about with flag keys ("country:united kingdom", "vendor:huawei",
"speaker:yoshihide suga", 1 or True) that `where` clauses and the BM25 side index filter on. Only
this module reads or writes that layout: everything else gets `DocumentRecord` and `ChunkMeta`.
Names are canonical on the way in, so "UK", "Britain" and "U.K." are all stored, filtered and
listed as "United Kingdom", and "Huawei Technologies" as "Huawei".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from bot.core.dates import PartialDate, parse_partial_date
from bot.core.text import country_token

# ---- canonical names: canonical -> aliases (any case; dots, commas and a leading "the" ignored)
COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "United Kingdom": ("UK", "U.K.", "Britain", "Great Britain", "GB", "England",
                       "United Kingdom of Great Britain and Northern Ireland"),
    "United States": ("US", "U.S.", "USA", "U.S.A.", "United States of America", "America"),
    "New Zealand": ("NZ", "Aotearoa"),
    "South Korea": ("Korea", "Republic of Korea", "ROK"),
    "South Africa": (),
    "Netherlands": ("Holland", "The Netherlands"),
    "Czechia": ("Czech Republic", "Czech"),
    "United Arab Emirates": ("UAE",),
    "China": ("PRC", "People's Republic of China", "Mainland China"),
    "Russia": ("Russian Federation",),
    "Vietnam": ("Viet Nam",),
    "Turkey": ("Türkiye", "Turkiye"),
}
BLOC_ALIASES: dict[str, tuple[str, ...]] = {
    "European Union": ("EU", "E.U."),
}
VENDOR_ALIASES: dict[str, tuple[str, ...]] = {  # named in bans and restrictions
    "Huawei": ("Huawei Technologies", "Huawei Technologies Co", "Huawei Technologies Co Ltd",
               "Huawei Tech"),
    "ZTE": ("ZTE Corporation", "ZTE Corp", "Zhongxing", "Zhongxing Telecommunication Equipment"),
    "Hikvision": ("Hangzhou Hikvision", "Hangzhou Hikvision Digital Technology", "Hik Vision",
                  "Hikvision Digital Technology"),
    "Dahua": ("Dahua Technology", "Zhejiang Dahua", "Zhejiang Dahua Technology"),
    "Hytera": ("Hytera Communications", "Hytera Communications Corporation"),
    "Kaspersky": ("Kaspersky Lab", "Kaspersky Labs", "AO Kaspersky Lab"),
    "China Mobile": ("China Mobile International", "China Mobile USA", "China Mobile Ltd"),
    "China Telecom": ("China Telecom Americas", "China Telecom (Americas)"),
    "China Unicom": ("China Unicom Americas", "China Unicom (Americas)"),
    "Nokia": (), "Ericsson": (), "Samsung": (), "TikTok": (),
}
VENDOR_NAMES = tuple(VENDOR_ALIASES)


_PUNCTUATION = str.maketrans({".": None, ",": " ", "(": " ", ")": " ", "’": "'"})


def _name_key(name: str) -> str:
    """How names are compared: lower case, dots, commas and brackets dropped, "the" dropped."""
    key = " ".join(name.translate(_PUNCTUATION).lower().split())
    return key.removesuffix("'s").removeprefix("the ")


def _by_alias(table: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Every spelling of a table's names (with and without spaces) -> the canonical name."""
    found: dict[str, str] = {}
    for canonical, aliases in table.items():
        for name in (canonical, *aliases):
            key = _name_key(name)
            found.setdefault(key, canonical)
            found.setdefault(key.replace(" ", ""), canonical)  # "southkorea": a text token
    return found


_PLACE_BY_ALIAS = _by_alias({**COUNTRY_ALIASES, **BLOC_ALIASES})
_VENDOR_BY_ALIAS = _by_alias(VENDOR_ALIASES)


def country_label(token: str) -> str:
    """How a country token of text analysis is named ("uk" -> "United Kingdom")."""
    return _PLACE_BY_ALIAS.get(token) or token.title()


@lru_cache(maxsize=4096)  # every decoded chunk names its countries again
def canonical_country(name: str) -> str:
    """The one name a country or bloc is stored, filtered and listed under: "UK", "U.K.",
    "Britain" and "United Kingdom" are all "United Kingdom", "EU" is "European Union"; a name
    known to nobody is kept as written."""
    found = _PLACE_BY_ALIAS.get(_name_key(name))
    if found:
        return found
    token = country_token(name)  # "British", "Britain's", "French", "Berlin"
    return country_label(token) if token else " ".join(name.split())


@lru_cache(maxsize=4096)
def canonical_vendor(name: str) -> str:
    """The one name a vendor is stored and filtered under ("huawei technologies" -> "Huawei");
    a vendor not in the table is kept as written."""
    return _VENDOR_BY_ALIAS.get(_name_key(name)) or " ".join(name.split())


# ---- flag keys
INT_FLAGS = {"flags": "int"}  # chunk collection metadata: its flags are stored as 1, not True
FLAG_KINDS = ("country", "vendor", "speaker")
_FLAG_PREFIXES = tuple(f"{kind}:" for kind in FLAG_KINDS)


def _flag(kind: str, value: str) -> str:
    return f"{kind}:{' '.join(value.lower().split())}"


def country_flag(name: str) -> str:
    """The flag key of chunks about a country or bloc, under any of its names."""
    return _flag("country", canonical_country(name))


def vendor_flag(name: str) -> str:
    """The flag key of chunks about a vendor, under any of its names."""
    return _flag("vendor", canonical_vendor(name))


def speaker_flag(name: str) -> str:
    """The flag key of chunks holding words of a speaker (case and spacing ignored)."""
    return _flag("speaker", name)


def indexable(where: Any, int_flags: bool) -> Any:
    """A `where` clause or flat metadata with True flags as 1 when the collection stores int
    flags (Chroma's SQLite indexes int metadata but not bool, so int flag filters run faster)."""
    if not int_flags or not where:
        return where
    if isinstance(where, dict):
        return {k: 1 if v is True else indexable(v, int_flags) for k, v in where.items()}
    if isinstance(where, list):
        return [indexable(w, int_flags) for w in where]
    return where


def flag_keys(country: str | None = None, vendor: str | None = None,
              speaker: str | None = None) -> list[str]:
    """The flag keys a chunk must carry to be about all of these (any of their names)."""
    keys = [country_flag(country) if country else None, vendor_flag(vendor) if vendor else None,
            speaker_flag(speaker) if speaker else None]
    return [k for k in keys if k]


def where_clause(country: str | None = None, vendor: str | None = None,
                 speaker: str | None = None, kind: str | None = None,
                 low: int | None = None, high: int | None = None) -> dict | None:
    """The Chroma `where` clause for chunks about a country, vendor and speaker, of a kind and
    published between two YYYYMMDD keys; None when nothing restricts."""
    clauses: list[dict] = [{key: True} for key in flag_keys(country, vendor, speaker)]
    if kind:
        clauses.append({"kind": kind})
    if low is not None:
        clauses.append({"published_ts": {"$gte": low}})
    if high is not None:
        clauses.append({"published_ts": {"$lte": high}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


# ---- the fields
@dataclass(frozen=True)
class DocumentMeta:
    """What a document's record and each of its chunks say about the document."""

    doc_id: str = ""
    doc_hash: str = ""  # of everything that shapes its chunks (ingest skips unchanged ones)
    title: str = ""
    url: str = ""
    outlet: str = ""
    published: PartialDate | None = None
    kind: str = "article"  # article, statement or timeline
    source: str = ""  # file path or URL it was read from
    language: str = "en"
    author: str = ""
    countries: tuple[str, ...] = ()  # canonical names (see canonical_country)
    vendors: tuple[str, ...] = ()  # canonical names (see canonical_vendor)
    speakers: tuple[str, ...] = ()
    speaker_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    timeline: Mapping[str, Any] | None = field(default=None, hash=False)  # a timeline entry

    def __post_init__(self) -> None:
        canonical = {"countries": tuple(dict.fromkeys(map(canonical_country, self.countries))),
                     "vendors": tuple(dict.fromkeys(map(canonical_vendor, self.vendors)))}
        for name, value in canonical.items():
            object.__setattr__(self, name, value)

    @property
    def published_text(self) -> str:
        """The date as precise as the source gave it ("2020", "2020-07", "2020-07-14"), or ""."""
        return self.published.isoformat() if self.published else ""


@dataclass(frozen=True)
class ChunkMeta(DocumentMeta):
    """A chunk's metadata: its document's, and where the chunk lies in it."""

    position: int = 0
    start: int = 0  # offsets in the document's text
    end: int = 0
    page: int = 0  # 1-based page of a paged source (PDF); 0 when it has none
    attributions: tuple[tuple[int, int, str], ...] = ()  # (start, end, speaker), document offsets


@dataclass(frozen=True)
class DocumentRecord(DocumentMeta):
    """A document's entry in the index's registry."""

    n_chunks: int = 0
    ingested_at: float = 0.0


_JSON_FIELDS = ("countries", "vendors", "speakers", "speaker_roles", "timeline", "attributions")


def _encode(meta: DocumentMeta, int_flags: bool) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for f in fields(meta):
        value = getattr(meta, f.name)
        if f.name == "published":
            raw["published"], raw["published_ts"] = meta.published_text, value.key if value else 0
        elif f.name == "timeline":
            if value is not None:
                raw["timeline"] = json.dumps(value, sort_keys=True)
        elif f.name in _JSON_FIELDS:
            value = dict(value) if isinstance(value, Mapping) else list(value)
            raw[f.name] = json.dumps(value, sort_keys=isinstance(value, dict))
        else:
            raw[f.name] = value
    flag = 1 if int_flags else True
    raw.update((key, flag) for key in _flags(meta))
    return raw


def _flags(meta: DocumentMeta) -> Iterable[str]:
    yield from (country_flag(c) for c in meta.countries)
    yield from (vendor_flag(v) for v in meta.vendors)
    if isinstance(meta, ChunkMeta):
        yield from dict.fromkeys(speaker_flag(who) for _, _, who in meta.attributions)


def encode_chunk(meta: ChunkMeta, int_flags: bool = False) -> dict[str, Any]:
    """A chunk's metadata as Chroma stores it (flat; lists as JSON; flags 1 or True)."""
    return _encode(meta, int_flags)


def encode_record(record: DocumentRecord) -> dict[str, Any]:
    """A document record as the registry collection stores it."""
    return _encode(record, False)


# A document's lists repeat in each of its chunks, and the same chunks come back question after
# question: decoded once (into immutable values, as they are shared).
@lru_cache(maxsize=8192)
def _names(text: str) -> tuple[str, ...]:
    return tuple(map(str, json.loads(text))) if text and text != "[]" else ()


@lru_cache(maxsize=8192)
def _spans(text: str) -> tuple[tuple[int, int, str], ...]:
    spans = json.loads(text) if text and text != "[]" else ()
    return tuple((int(s), int(e), str(who)) for s, e, who in spans)


@lru_cache(maxsize=4096)
def _roles(text: str) -> Mapping[str, tuple[str, ...]]:
    roles = json.loads(text) if text and text != "{}" else {}
    return MappingProxyType({name: tuple(found) for name, found in roles.items()})


@lru_cache(maxsize=8192)
def _date(text: str) -> PartialDate | None:
    try:
        return parse_partial_date(text)
    except ValueError:  # not written by this schema: undated rather than unreadable
        return None


def _document_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The DocumentMeta fields of stored metadata (tolerant of fields older layouts lack)."""
    timeline = raw.get("timeline")
    return {
        "doc_id": str(raw.get("doc_id", "")), "doc_hash": str(raw.get("doc_hash", "")),
        "title": str(raw.get("title", "")), "url": str(raw.get("url", "")),
        "outlet": str(raw.get("outlet", "")), "published": _date(str(raw.get("published") or "")),
        "kind": str(raw.get("kind") or "article"), "source": str(raw.get("source", "")),
        "language": str(raw.get("language") or "en"), "author": str(raw.get("author", "")),
        "countries": _names(raw.get("countries") or ""),
        "vendors": _names(raw.get("vendors") or ""),
        "speakers": _names(raw.get("speakers") or ""),
        "speaker_roles": _roles(raw.get("speaker_roles") or ""),
        "timeline": json.loads(timeline) if timeline else None,
    }


def decode_chunk(raw: Mapping[str, Any]) -> ChunkMeta:
    """A chunk's stored metadata, typed."""
    return ChunkMeta(**_document_fields(raw), position=int(raw.get("position") or 0),
                     start=int(raw.get("start") or 0), end=int(raw.get("end") or 0),
                     page=int(raw.get("page") or 0),
                     attributions=_spans(raw.get("attributions") or ""))


def decode_record(raw: Mapping[str, Any]) -> DocumentRecord:
    """A document record as stored, typed."""
    return DocumentRecord(**_document_fields(raw), n_chunks=int(raw.get("n_chunks") or 0),
                          ingested_at=float(raw.get("ingested_at") or 0.0))


class IndexedFields(NamedTuple):
    """What the BM25 side index reads of a stored chunk (cheaply: no JSON is decoded)."""

    title: str
    kind: str
    published_ts: float  # NaN when the chunk has none
    flags: list[str]


def indexed_fields(raw: Mapping[str, Any]) -> IndexedFields:
    """The title, kind, date key and set flags of a chunk's stored metadata."""
    ts = raw.get("published_ts")
    return IndexedFields(str(raw.get("title", "")), str(raw.get("kind") or ""),
                         float(ts) if isinstance(ts, int | float) else float("nan"),
                         [key for key, value in raw.items()
                          if value == 1 and key.startswith(_FLAG_PREFIXES)])

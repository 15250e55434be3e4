"""The timeline of measures: the entry schema and reading entries back from the index.

For front ends: `timeline(assistant, country)` gives the entries (oldest first) and
`bot.render.timeline` renders them. Call `assistant.ensure_ready()` first to turn an empty index
into the usual EmptyIndexError; an index without timeline documents gives an empty list.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
)

from bot.core.dates import PartialDate, parse_partial_date
from bot.core.errors import BotError
from bot.core.schema import DocumentRecord, country_flag, vendor_flag

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it

Status = Literal["announced", "in force", "reported", "proposed", "reversed", "completed"]
KIND = "timeline"  # the `kind` of timeline documents in the index


class TimelineEntry(BaseModel):
    """One dated measure: who did what, where, to which vendors, and the source that says so."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True,
                              arbitrary_types_allowed=True)

    date: PartialDate = Field(description="YYYY-MM-DD; YYYY-MM or YYYY when only that is known.")
    country: str = Field(min_length=1, description="Country or bloc, e.g. United Kingdom, EU.")
    body: str = Field(min_length=1, description="Who took the measure.")
    measure: str = Field(min_length=1, description="What was decided, in a sentence.")
    scope: str = Field(min_length=1, description="What it applies to.")
    vendors: list[str] = Field(description="Vendors named; empty when none is.")
    status: Status
    source_url: str = Field(description="http(s) link to the source.")
    source: str = Field(min_length=1, description="Outlet or issuing body of the source.")
    doc_id: str = Field("", description="Index document id (set when read from the index).")

    @field_validator("date", mode="before")
    @classmethod
    def _partial_date(cls, value: object) -> PartialDate:
        found = parse_partial_date(value)
        if found is None:
            raise ValueError("a date is required")
        return found

    @field_serializer("date")
    def _date_text(self, value: PartialDate) -> str:
        return value.isoformat()

    @field_validator("source_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
            raise ValueError("must be an http(s) URL")
        return value


class TimelineError(BotError):
    """A timeline file does not match the schema; the message lists each problem."""


def parse_timeline(text: str, source: str) -> list[TimelineEntry]:
    """Entries of a timeline YAML text; TimelineError listing every invalid entry."""
    try:
        raw = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise TimelineError(f"{source}: broken YAML ({str(exc).splitlines()[0]})") from exc
    if not isinstance(raw, list):
        raise TimelineError(f"{source}: a timeline is a YAML list of entries")
    entries, problems = [], []
    for n, item in enumerate(raw, 1):
        if isinstance(item, dict) and "doc_id" in item:
            problems.append(f"entry {n}: unknown key 'doc_id'")
            continue
        try:
            entries.append(TimelineEntry.model_validate(item))
        except ValidationError as exc:
            problems += [f"entry {n}: {_where(e)}{e['msg']}" for e in exc.errors()]
    if problems:
        raise TimelineError(f"{source}: " + "; ".join(problems))
    return entries


def _where(error: dict) -> str:
    return f"{'.'.join(map(str, error['loc']))}: " if error.get("loc") else ""


def load_timeline(path: Path) -> list[TimelineEntry]:
    """Entries of a timeline YAML file (see `parse_timeline`)."""
    return parse_timeline(path.read_text(encoding="utf-8"), str(path))


class CachedRecords(Protocol):
    """An Assistant: document records cached per index generation."""

    def records(self) -> dict[str, DocumentRecord]: ...


class StoreRecords(Protocol):
    """A Store: document records read from Chroma."""

    def doc_records(self) -> dict[str, DocumentRecord]: ...


def timeline(index: CachedRecords | StoreRecords, country: str | None = None,
             vendor: str | None = None) -> list[TimelineEntry]:
    """Timeline entries in the index (an Assistant or a Store), oldest first, optionally for one
    country (case-insensitive, aliases such as UK/Britain) and/or one vendor."""
    records = index.records() if hasattr(index, "records") else index.doc_records()
    entries = [entry_from_record(doc_id, record) for doc_id, record in records.items()
               if record.kind == KIND and record.timeline]
    if country:  # compared by flag key: any name of the place, any case
        place = country_flag(country)
        entries = [e for e in entries if country_flag(e.country) == place]
    if vendor:
        wanted = vendor_flag(vendor)
        entries = [e for e in entries if wanted in map(vendor_flag, e.vendors)]
    return sorted(entries, key=lambda e: (e.date, e.country, e.measure))


def entry_from_record(doc_id: str, record: DocumentRecord) -> TimelineEntry:
    """The entry stored with a timeline document's record."""
    return TimelineEntry.model_validate({**(record.timeline or {}), "doc_id": doc_id})

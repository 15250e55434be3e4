"""Metadata restrictions on retrieval (country, vendor, kind, speaker, dates): one `Filters`
turned into a Chroma `where` clause (bot.core.schema) and tested on metadata in memory by the
same evaluator."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from bot.core import metadata_filter, schema
from bot.core.dates import PartialDate, range_keys


@dataclass
class Filters:
    """Metadata restrictions on retrieval; every field optional. Countries, blocs and vendors
    may be given under any of their names ("UK", "Britain", "EU", "Huawei Technologies")."""

    country: str | None = None
    vendor: str | None = None
    kind: str | None = None
    speaker: str | None = None
    since: date | PartialDate | None = None  # a PartialDate: "since 2018-04", "until 2019"
    until: date | PartialDate | None = None

    def flag_keys(self) -> list[str]:
        return schema.flag_keys(self.country, self.vendor, self.speaker)

    def date_range(self) -> tuple[int | None, int | None]:
        return range_keys(self.since, self.until)

    def where(self) -> dict | None:
        """The Chroma `where` clause for these filters."""
        return schema.where_clause(self.country, self.vendor, self.speaker, self.kind,
                                   *self.date_range())

    def matches(self, meta: schema.ChunkMeta) -> bool:
        """The same test as `where`, on a chunk's metadata in memory (one evaluator for both)."""
        where = self.where()
        return where is None or metadata_filter.matches(schema.encode_chunk(meta), where)

    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

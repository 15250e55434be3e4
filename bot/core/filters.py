"""Metadata restrictions on retrieval (country, vendor, kind, speaker, dates): one `Filters`
turned into a Chroma `where` clause and tested on metadata in memory by the same evaluator."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date

from bot.core import metadata_filter
from bot.core.dates import PartialDate, range_keys
from bot.core.store import flag
from bot.core.text import canonical_country


@dataclass
class Filters:
    """Metadata restrictions on retrieval; every field optional."""

    country: str | None = None
    vendor: str | None = None
    kind: str | None = None
    speaker: str | None = None
    since: date | PartialDate | None = None  # a PartialDate: "since 2018-04", "until 2019"
    until: date | PartialDate | None = None

    def flag_keys(self) -> list[str]:
        country = canonical_country(self.country) if self.country else None
        pairs = (("country", country), ("vendor", self.vendor), ("speaker", self.speaker))
        return [flag(kind, value) for kind, value in pairs if value]

    def date_range(self) -> tuple[int | None, int | None]:
        return range_keys(self.since, self.until)

    def where(self) -> dict | None:
        """The Chroma `where` clause for these filters."""
        clauses: list[dict] = [{key: True} for key in self.flag_keys()]
        if self.kind:
            clauses.append({"kind": self.kind})
        low, high = self.date_range()
        if low is not None:
            clauses.append({"published_ts": {"$gte": low}})
        if high is not None:
            clauses.append({"published_ts": {"$lte": high}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def matches(self, meta: dict) -> bool:
        """The same test as `where`, on a metadata dict in memory (one evaluator for both)."""
        where = self.where()
        return where is None or metadata_filter.matches(meta, where)

    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

"""Publication dates as sources give them: a day, a month (`2018-04`) or only a year (`2018`).

One owner for how a date is read, shown, sorted and stored: shown as given, sorted and filtered by
an integer `YYYYMMDD` key whose missing parts are 00, so `2018` < `2018-04` < `2018-04-01`, and a
month-only date counts as the start of its month for `--since`/`--until`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass(frozen=True, order=True)
class PartialDate:
    """A year, with a month and a day when the source gives them."""

    year: int
    month: int = 0  # 0: not given
    day: int = 0  # 0: not given

    def isoformat(self) -> str:
        """`YYYY`, `YYYY-MM` or `YYYY-MM-DD`, as precise as the source."""
        if not self.month:
            return f"{self.year:04d}"
        if not self.day:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    __str__ = isoformat

    @property
    def key(self) -> int:
        """Sort and filter key YYYYMMDD, missing parts 00."""
        return self.year * 10000 + self.month * 100 + self.day

    def spoken(self) -> str:
        """As a sentence says it: "14 July 2020", "July 2020" or "2020"."""
        if not self.month:
            return str(self.year)
        month = date(self.year, self.month, 1).strftime("%B")
        return f"{self.day} {month} {self.year}" if self.day else f"{month} {self.year}"


def parse_partial_date(value: object) -> PartialDate | None:
    """A date, datetime or ISO-like string (YYYY, YYYY-MM, YYYY-MM-DD, a datetime's first 10
    characters) as a PartialDate; None when empty. ValueError names what is wrong."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return PartialDate(value.year, value.month, value.day)
    if isinstance(value, int) and 1000 <= value <= 9999:  # YAML reads `published: 2018` as int
        return PartialDate(value)
    text = str(value).strip()
    match = _ISO.match(text[:10] if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text) else text)
    if not match:
        raise ValueError(f"{value!r} is not a date (use YYYY-MM-DD, YYYY-MM or YYYY)")
    year, month, day = (int(g) if g else 0 for g in match.groups())
    try:  # validates month and day
        date(year, month or 1, day or 1)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a date ({exc})") from exc
    return PartialDate(year, month, day)


def range_keys(since: date | PartialDate | None, until: date | PartialDate | None
               ) -> tuple[int | None, int | None]:
    """Filter bounds on the YYYYMMDD key: `since 2018-04` admits "2018-04" and every April day,
    `until 2018` admits all of 2018; a day is exact (a month-only date counts as its start)."""
    low = high = None
    if since is not None:
        low = (since if isinstance(since, PartialDate) else parse_partial_date(since)).key
    if until is not None:
        end = until if isinstance(until, PartialDate) else parse_partial_date(until)
        high = end.year * 10000 + (end.month or 99) * 100 + (end.day or 99)
    return low, high

"""Timeline entries as plain text: one dated line per measure with [n], then numbered sources."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.timeline import TimelineEntry


def numbered_sources(
    entries: Sequence[TimelineEntry],
) -> tuple[list[int], list[tuple[int, str, str]]]:
    """(the source number of each entry, [(number, source, url)]); one number per distinct URL."""
    numbers: dict[str, int] = {}
    sources: list[tuple[int, str, str]] = []
    for e in entries:
        if e.source_url not in numbers:
            numbers[e.source_url] = len(numbers) + 1
            sources.append((numbers[e.source_url], e.source, e.source_url))
    return [numbers[e.source_url] for e in entries], sources


def entry_line(entry: TimelineEntry) -> str:
    """One entry: "2020-07-14  United Kingdom, UK government (DCMS): ... (announced; Huawei)"."""
    detail = "; ".join([entry.status, *([", ".join(entry.vendors)] if entry.vendors else [])])
    return (f"{entry.date.isoformat()}  {entry.country}, {entry.body}: "
            f"{entry.measure.rstrip('.')} ({detail})")


def render_timeline(entries: Sequence[TimelineEntry]) -> str:
    """Plain text: one dated line per entry with an [n] marker, then the numbered sources."""
    if not entries:
        return "No timeline entries found."
    numbers, sources = numbered_sources(entries)
    lines = [f"{entry_line(e)} [{n}]" for e, n in zip(entries, numbers, strict=True)]
    lines += ["", "Sources:"] + [f"[{n}] {source} {url}" for n, source, url in sources]
    return "\n".join(lines)

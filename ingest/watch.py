"""Polling feeds: each round ingests only new or changed entries; a feed that is down is retried."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.core.config import Settings
from bot.core.errors import BotError
from bot.core.store import Store
from ingest.feeds import Feed, FeedEntry, collect_entries, read_feed
from ingest.pipeline import ingest_documents
from ingest.report import IngestReport
from ingest.sources import failure

log = logging.getLogger(__name__)
STATE_FILE = "feeds.json"  # in the data directory: per feed, its validators and entries seen


def state_path(settings: Settings) -> Path:
    return settings.data_dir / STATE_FILE


def load_state(settings: Settings) -> dict[str, dict]:
    """What earlier rounds saw of each feed; empty when there is no (readable) state yet."""
    try:
        state = json.loads(state_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def save_state(settings: Settings, state: dict[str, dict]) -> None:
    """Write the state atomically (a crash mid-write must not lose what was seen)."""
    path = state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def poll(feed_urls: Sequence[str], settings: Settings, store: Store | None = None) -> IngestReport:
    """One round over the feeds: fetch each, ingest its new or changed entries, remember them."""
    started = time.perf_counter()
    state, report = load_state(settings), IngestReport()
    docs, fresh = [], {}
    for url in dict.fromkeys(feed_urls):
        old = state.get(url, {})
        try:
            feed = read_feed(url, settings, old.get("etag", ""), old.get("last_modified", ""))
        except Exception as exc:  # one feed's failure, whatever raised it
            log.info("feed %s is unavailable (will retry next round): %s", url, exc)
            report.failed.append((url, failure(url, exc)))
            continue
        if feed.not_modified:
            continue
        seen = old.get("entries", {})
        wanted = [e for e in feed.entries if seen.get(e.key) != e.fingerprint]
        docs += collect_entries(feed, settings, report, lambda e, w=wanted: e in w)
        fresh[url] = (feed, wanted)
    ingest_documents(docs, settings, store, progress=False, report=report)
    failed = {source for source, _ in report.failed}
    for url, (feed, wanted) in fresh.items():
        state[url] = remember(feed, state.get(url, {}), wanted, failed)
    save_state(settings, state)
    report.seconds = time.perf_counter() - started
    return report


def remember(feed: Feed, old: dict, wanted: list[FeedEntry], failed: set[str]) -> dict:
    """The feed's new state: ingested entries are seen; failed ones will be tried again."""
    current = {e.key for e in feed.entries}  # entries gone from the feed are forgotten (bounded)
    entries = {k: v for k, v in old.get("entries", {}).items() if k in current}
    entries.update({e.key: e.fingerprint for e in wanted if e.link not in failed})
    complete = not any(e.link in failed for e in wanted)
    # Keep the validators only when every entry made it, or a 304 would hide the failed ones.
    return {"entries": entries, "etag": feed.etag if complete else "",
            "last_modified": feed.last_modified if complete else ""}


def watch(feed_urls: Sequence[str], settings: Settings, rounds: int | None = None,
          on_round: Callable[[int, IngestReport], None] | None = None,
          sleep: Callable[[float], None] = time.sleep) -> list[IngestReport]:
    """Poll every `watch_interval` seconds, `rounds` times (forever when None)."""
    store = Store(settings)
    reports: list[IngestReport] = []
    n = 0
    while rounds is None or n < rounds:
        n += 1
        try:
            report = poll(feed_urls, settings, store)
        except BotError as exc:  # e.g. the index is unavailable: a long watch keeps going
            log.error("watch round %d failed: %s", n, exc)
            report = IngestReport(failed=[("index", str(exc))])
        if rounds is not None:  # a bounded run (tests, cron) returns every report
            reports.append(report)
        if on_round is not None:
            on_round(n, report)
        if rounds is None or n < rounds:
            sleep(settings.watch_interval)
    return reports

"""CLI sub-commands for web sources and the timeline: `vendorban watch`, `vendorban timeline`."""

from __future__ import annotations

import argparse
import sys
import time

from bot.cli.command import command
from bot.core.config import Settings
from bot.core.errors import ConfigError


def _watch_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--feed", action="append", default=[], metavar="URL",
                   help="a feed to poll besides the VENDORBAN_FEEDS list (repeatable)")
    p.add_argument("--once", action="store_true", help="poll once and exit (for cron)")
    p.add_argument("--rounds", type=int, metavar="N", help="poll N times and exit")
    p.add_argument("--interval", type=float, metavar="SECONDS",
                   help="seconds between polls (default: VENDORBAN_WATCH_INTERVAL)")


@command("watch", "poll RSS/Atom feeds and ingest new or changed entries", _watch_args)
def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    """Exit status 1 when a bounded run (--once, --rounds) met a failing feed or article."""
    from ingest.pipeline import IngestReport
    from ingest.watch import watch

    feeds = list(dict.fromkeys([*settings.feeds, *args.feed]))
    if not feeds:
        raise ConfigError("no feeds to watch: set VENDORBAN_FEEDS or pass --feed URL")
    if args.rounds is not None and args.rounds < 1:
        raise ConfigError("--rounds must be at least 1")
    if args.interval is not None:
        settings = settings.model_copy(update={"watch_interval": max(args.interval, 0.0)})
    rounds = 1 if args.once else args.rounds

    def report_round(n: int, report: IngestReport) -> None:
        for _, message in report.failed:
            print(f"error: {message}", file=sys.stderr)
        for message in report.alerts_failed:
            print(f"warning: {message}", file=sys.stderr)
        print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} round {n}: {report.summary()}", flush=True)

    reports = watch(feeds, settings, rounds=rounds, on_round=report_round)
    return 1 if any(r.failed for r in reports) else 0


def _timeline_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("country", nargs="?", help="only this country (UK, US, EU... any case)")
    p.add_argument("--vendor", help="only measures naming this vendor")


@command("timeline", "dated list of measures, with sources", _timeline_args)
def cmd_timeline(args: argparse.Namespace, settings: Settings) -> int:
    from bot.core.assistant import Assistant
    from bot.core.timeline import timeline
    from bot.render.timeline import render_timeline

    assistant = Assistant(settings)
    assistant.ensure_ready()
    entries = timeline(assistant, args.country, args.vendor)
    if not entries:
        where = f" for {args.country}" if args.country else ""
        print(f"No timeline entries{where} in the index "
              f"(timelines are ingested from {settings.corpus_dir}/timeline-*.yaml).")
        return 0
    print(render_timeline(entries))
    return 0

"""CLI sub-commands over the usage log: `vendorban feedback` (votes, gold-set export) and
`vendorban report` (what was asked, what went unanswered)."""

from __future__ import annotations

import argparse
import json
import re
from datetime import UTC, date, datetime
from pathlib import Path

import yaml

from bot.cli.command import command
from bot.core.config import Settings
from bot.core.usage import UsageLog, VoteRecord

EXCERPT_CHARS = 160
GOLD_TYPES = {"list": "list", "deadline": "deadline", "when": "when", "why": "why"}
_SAID = re.compile(r"\b(?:say|says|said|comment(?:s|ed)?|remarks?|statement)\b", re.I)
EXPORT_HEADER = """\
# Candidate gold-set items from downvoted answers (`vendorban feedback --export`), {today}.
# Same format as eval/questions.yaml (see eval/README.md), but NOT loadable yet, on purpose:
# key_facts and docs are left empty for a person to fill, which the gold loader refuses for an
# answerable item. For each item: fill key_facts and docs (or set answerable: false and
# type: unanswerable when the corpus does not cover it), check the guessed type, delete the
# todo line, give it a fresh qNNN id, then move it into eval/questions.yaml.
"""
TODO = "fill key_facts and docs (or make it unanswerable), check type, then delete this line"


def day(value: str) -> float:
    """A YYYY-MM-DD date as the unix time of its start (UTC)."""
    day = date.fromisoformat(value)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _feedback_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", type=day, default=0.0, metavar="DATE",
                   help="only votes given on or after this day (YYYY-MM-DD, UTC)")
    p.add_argument("--json", action="store_true", help="print the votes as JSON")
    p.add_argument("--export", type=Path, metavar="FILE",
                   help="write the downvoted answers as candidate gold-set items (YAML)")


@command("feedback", "list votes on answers; --export writes downvoted ones as gold candidates",
         _feedback_args)
def cmd_feedback(args: argparse.Namespace, settings: Settings) -> int:
    votes = UsageLog(settings).votes(args.since)
    if args.export:
        down = [v for v in votes if v.vote == "down"]
        args.export.write_text(gold_candidates(down), encoding="utf-8")
        print(f"Wrote {len(down)} candidate gold item(s) to {args.export}.")
        return 0
    if args.json:
        print(json.dumps([vote_dict(v) for v in votes], indent=2, ensure_ascii=False))
        return 0
    if not votes:
        print("No votes yet.")
    for v in votes:
        print(f"{stamp(v.created)}  {v.vote:4}  {v.platform:10}  {excerpt(v.question, 80)}")
        print(f"    answer: {excerpt(v.answer)}")
        if v.comment:
            print(f"    comment: {excerpt(v.comment, 300)}")
    return 0


def vote_dict(v: VoteRecord) -> dict:
    """A vote as JSON: the vote, when, where, and the question and answer it was given on."""
    return {"answer_id": v.answer_id, "vote": v.vote, "comment": v.comment,
            "voted": datetime.fromtimestamp(v.created, UTC).isoformat(timespec="seconds"),
            "platform": v.platform, "question": v.question, "answer": excerpt(v.answer),
            "found": v.found, "chunks": list(v.chunks)}


def gold_candidates(votes: list[VoteRecord]) -> str:
    """Downvoted answers as eval/questions.yaml items, key facts left for a person to fill."""
    parts = [EXPORT_HEADER.format(today=date.today().isoformat())]
    for v in votes:
        kind = "what_said" if _SAID.search(v.question) else GOLD_TYPES.get(
            _question_type(v.question), "fact")
        item = {"id": f"fb-{v.answer_id[:8]}", "question": v.question, "type": kind,
                "answerable": True, "key_facts": [], "docs": [], "split": "dev", "todo": TODO}
        text = yaml.safe_dump([item], sort_keys=False, allow_unicode=True, width=1000)
        notes = [f"bot {'answered' if v.found else 'did not find an answer'}: "
                 f"{excerpt(v.answer, 300)}",
                 f"cited chunks: {', '.join(v.chunks) or 'none'}"]
        if v.comment:
            notes.append(f"voter's comment: {excerpt(v.comment, 300)}")
        parts.append(text + "".join(f"  # {n}\n" for n in notes))
    return "".join(parts)


def _question_type(question: str) -> str:
    from bot.core.questions import question_type

    return question_type(question)


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--days", type=float, default=30.0, metavar="N",
                   help="the last N days (default 30)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


@command("report", "usage report: questions, answer rate, unanswered questions, votes",
         _report_args)
def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    report = UsageLog(settings).report(args.days)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return 0
    print("\n".join(report_lines(report)))
    return 0


def report_lines(report: dict) -> list[str]:
    """The report as text for a terminal."""
    n, answered = report["questions"], report["answered"]
    rate = f" ({report['answer_rate']:.0%})" if n else ""
    lines = [f"Last {report['days']:g} days: {n} question(s), {answered} answered{rate}."]
    if report["median_latency_ms"] is not None:
        lines[0] += f" Median answer time {report['median_latency_ms']} ms."
    lines.append(f"Votes: {report['votes']['up']} up, {report['votes']['down']} down.")
    for name, p in sorted(report["platforms"].items()):
        lines.append(f"  {name:10} {p['questions']} question(s), {p['answered']} answered, "
                     f"{p['votes']['up']} up, {p['votes']['down']} down")
    if report["unanswered"]:
        lines.append("Unanswered, most asked first:")
        lines += [f"  {u['count']:4}  {excerpt(u['question'], 100)}" for u in report["unanswered"]]
    return lines

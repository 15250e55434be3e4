"""Check eval/questions.yaml against the corpus: schema, per-type minimums, key facts in the
docs."""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TYPES = ("what_said", "when", "why", "deadline", "list", "fact", "unanswerable")
# Minimum number of items per type, from the issue that asked for this gold set.
MINIMUMS = {"what_said": 12, "when": 10, "why": 6, "deadline": 6, "list": 5, "unanswerable": 14}
MIN_TOTAL = 70
SPLITS = ("dev", "test")


def normalise(text: str) -> str:
    """Lower-case and collapse runs of whitespace to one space."""
    return re.sub(r"\s+", " ", text).strip().lower()


def document_text(path: Path) -> str:
    """Searchable text of a corpus file: a Markdown body without front matter, or a raw file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".md" and text.startswith("---"):
        # The front matter ends at the second line that is exactly '---'.
        parts = re.split(r"^---[ \t]*$", text, maxsplit=2, flags=re.MULTILINE)
        if len(parts) == 3:
            text = parts[2]
    return normalise(text)


def check_item(item: Any, corpus: Path, cache: dict[str, str]) -> list[str]:
    """Problems with one gold item (empty when it is sound)."""
    if not isinstance(item, dict):
        return [f"item is not a mapping: {item!r}"]
    qid = item.get("id", "?")
    problems: list[str] = []
    if not str(item.get("question", "")).strip():
        problems.append("empty question")
    typ = item.get("type")
    if typ not in TYPES:
        problems.append(f"unknown type {typ!r}")
    if item.get("split") not in SPLITS:
        problems.append(f"split must be one of {SPLITS}")
    if (typ == "what_said") != bool(item.get("speaker")):
        problems.append("speaker is required for what_said and only there")
    if typ == "unanswerable":
        if item.get("answerable") is not False:
            problems.append("unanswerable item must have answerable: false")
        if item.get("key_facts") or item.get("docs"):
            problems.append("unanswerable item must have no key_facts and no docs")
    else:
        if item.get("answerable") is not True:
            problems.append("answerable item must have answerable: true")
        problems += check_facts(item, corpus, cache)
    return [f"{qid}: {p}" for p in problems]


def check_facts(item: dict[str, Any], corpus: Path, cache: dict[str, str]) -> list[str]:
    """Problems with an answerable item's docs and key facts."""
    docs, facts = item.get("docs") or [], item.get("key_facts") or []
    problems = []
    if not docs:
        problems.append("no docs")
    if not 1 <= len(facts) <= 4:
        problems.append(f"needs 1-4 key facts, has {len(facts)}")
    texts = []
    for name in docs:
        path = corpus / str(name)
        if not path.is_file():
            problems.append(f"doc does not exist: {name}")
            continue
        texts.append(cache.setdefault(str(name), document_text(path)))
    for fact in facts:
        well_formed = isinstance(fact, list) and fact and all(
            isinstance(a, str) and a.strip() for a in fact)
        if not well_formed:
            problems.append(f"key fact must be a non-empty list of strings: {fact!r}")
        elif not any(normalise(alt) in text for alt in fact for text in texts):
            problems.append(f"no alternative of {fact!r} occurs in {docs}")
    return problems


def check_counts(items: list[dict[str, Any]]) -> list[str]:
    """Problems with ids, per-type minimums and the split."""
    problems = []
    ids = Counter(str(i.get("id")) for i in items)
    problems += [f"duplicate id {qid} ({n}x)" for qid, n in ids.items() if n > 1]
    if len(items) < MIN_TOTAL:
        problems.append(f"{len(items)} items, need at least {MIN_TOTAL}")
    by_type = Counter(i.get("type") for i in items)
    for typ, least in MINIMUMS.items():
        if by_type[typ] < least:
            problems.append(f"type {typ}: {by_type[typ]} items, need at least {least}")
    pairs = Counter((i.get("type"), i.get("split")) for i in items)
    for typ in TYPES:
        problems += [f"type {typ} has no {s} items"
                     for s in SPLITS if by_type[typ] and not pairs[(typ, s)]]
    return problems


def summary(items: list[dict[str, Any]]) -> str:
    """A table of counts by type and split."""
    pairs = Counter((i.get("type"), i.get("split")) for i in items)
    lines = [f"{'type':<14}{'dev':>5}{'test':>6}{'total':>7}"]
    for typ in TYPES:
        dev, test = pairs[(typ, "dev")], pairs[(typ, "test")]
        lines.append(f"{typ:<14}{dev:>5}{test:>6}{dev + test:>7}")
    dev = sum(n for (_, s), n in pairs.items() if s == "dev")
    lines.append(f"{'all':<14}{dev:>5}{len(items) - dev:>6}{len(items):>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Check the gold file; print problems and a summary; exit 1 on any problem."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gold", type=Path, default=ROOT / "eval" / "questions.yaml")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    args = parser.parse_args(argv)
    items = yaml.safe_load(args.gold.read_text(encoding="utf-8"))
    if not isinstance(items, list):
        print(f"{args.gold}: expected a YAML list of items", file=sys.stderr)
        return 1
    cache: dict[str, str] = {}
    problems = check_counts([i for i in items if isinstance(i, dict)])
    for item in items:
        problems += check_item(item, args.corpus, cache)
    print(summary([i for i in items if isinstance(i, dict)]))
    for problem in problems:
        print(f"PROBLEM {problem}", file=sys.stderr)
    print(f"{len(problems)} problem(s)" if problems
          else "OK: gold set is consistent with the corpus")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Fill the real-page dev set's cache: one `$VENDORBAN_DATA_DIR/devpages/<id>.json` per page.

    python eval/pages/rebuild.py                   # fetch every listed page not cached yet
    python eval/pages/rebuild.py --import F.jsonl  # take page records from a file (JSON lines)
    python eval/pages/rebuild.py --check           # report what is cached and what is missing

Page texts are third-party text: they stay in the untracked data dir, never in the repository.
Fetching goes through ingest's fetcher (address checks, size and time limits); a machine without
internet access reports the pages it could not fetch and exits 1. Imported records must carry the
listed URL; their text is stored as given.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bot.core.config import Settings  # noqa: E402
from bot.core.errors import BotError  # noqa: E402
from bot.evaluation.pages import cache_dir, page_list  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--import", dest="imported", type=Path, help="JSON-lines page records")
    parser.add_argument("--check", action="store_true", help="only report cached and missing")
    args = parser.parse_args()
    settings = Settings()
    folder = cache_dir(settings.data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    listed = {entry["id"]: entry for entry in page_list()}
    if args.imported:
        by_url = {entry["url"]: entry for entry in listed.values()}
        for line in args.imported.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            entry = by_url.get(record.get("url"))
            if entry and record.get("text", "").strip():
                _write(folder, {**_dated(record), "id": entry["id"],
                                "query": entry.get("query", "")})
    missing = [i for i in listed if not (folder / f"{i}.json").exists()]
    if args.check or not missing:
        print(f"{len(listed) - len(missing)} of {len(listed)} listed pages cached in {folder}")
        return 1 if missing else 0
    failed = 0
    for index, page_id in enumerate(missing, 1):
        entry = listed[page_id]
        try:
            from ingest.sources import load_url

            doc = load_url(entry["url"], settings)[0]
        except BotError as exc:
            failed += 1
            print(f"[{index}/{len(missing)}] {page_id}: {exc}", file=sys.stderr)
            continue
        _write(folder, {"id": page_id, "url": entry["url"], "query": entry.get("query", ""),
                        "title": doc.title, "outlet": entry.get("outlet") or doc.outlet,
                        "published": str(doc.published) if doc.published else None,
                        "text": doc.text})
        print(f"[{index}/{len(missing)}] {page_id}: cached")
    print(f"{len(listed) - failed} of {len(listed)} listed pages cached in {folder}")
    return 1 if failed else 0


# A stored copy may open with the page's date as " date 2020-07-14 "; a real page gives it as
# metadata, which is where ingest reads it, so it moves from the text to `published`.
STORED_DATE = re.compile(r"\s*date (\d{4}-\d\d-\d\d)\s+")


def _dated(record: dict) -> dict:
    found = STORED_DATE.match(record["text"])
    if not found or record.get("published"):
        return record
    text = record["text"][found.end():]
    title = record.get("title") or ""
    if title.strip().startswith("date "):
        title = text.strip().split("\n")[0][:120]
    return {**record, "text": text, "published": found.group(1), "title": title}


def _write(folder: Path, record: dict) -> None:
    path = folder / f"{record['id']}.json"
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())

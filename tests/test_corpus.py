"""The shipped corpus: every document has the required front matter; the timelines validate."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.core.timeline import load_timeline
from ingest.documents import read_text, split_front_matter
from ingest.sources import discover, load
from tests.conftest import CORPUS

DOCS = sorted(CORPUS.glob("*.md"))
TIMELINES = sorted(CORPUS.glob("timeline*.yaml"))
REQUIRED = ("title", "url", "outlet", "published", "kind")
LISTS = ("speakers", "countries", "vendors")
UNCONFIRMED = ("url", "outlet", "published")  # the seed's source could not be confirmed


def front_matter(path: Path) -> dict:
    meta, body = split_front_matter(read_text(path), str(path))
    assert meta is not None and body.strip(), f"{path.name}: no front matter or no body"
    return meta


def test_the_corpus_has_documents_and_timelines():
    assert len(DOCS) >= 30 and len(TIMELINES) == 2


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_document_has_the_required_front_matter(path):
    meta = front_matter(path)
    seed = path.name.startswith("000-")
    for key in REQUIRED:
        assert key in meta, f"{path.name}: no {key}"
        if not (seed and key in UNCONFIRMED):
            assert meta[key], f"{path.name}: empty {key}"
    for key in LISTS:
        assert isinstance(meta.get(key), list), f"{path.name}: {key} must be a list"
    assert meta["kind"] in ("article", "statement")
    if meta["published"]:
        assert isinstance(meta["published"], date)
    if meta["url"]:
        assert str(meta["url"]).startswith(("http://", "https://"))


@pytest.mark.parametrize("path", TIMELINES, ids=lambda p: p.name)
def test_timeline_files_validate_against_the_schema(path):
    entries = load_timeline(path)
    assert len(entries) >= 10
    assert len({(e.date, e.country, e.measure) for e in entries}) == len(entries)


def test_every_corpus_file_loads():
    files = list(discover(CORPUS))
    assert set(DOCS) | set(TIMELINES) <= set(files)
    docs = [d for f in files for d in load(f, str(f))]
    assert len({d.doc_id for d in docs}) == len(docs)

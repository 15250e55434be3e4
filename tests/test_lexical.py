"""The BM25 side index: filter masks, rebuilds on a changed index, background rebuilds."""

from __future__ import annotations

import itertools
import threading
from datetime import date

import numpy as np

from bot.core import lexical as lexical_module
from bot.core.filters import Filters
from bot.core.lexical import LexicalIndex
from bot.core.store import Store
from ingest.pipeline import ingest

NOTE = """---
title: "Bench note on Ruritania"
url: "https://example.org/Ruritania"
outlet: "Test Outlet"
published: "2024-03-01"
countries: ["Ruritania"]
vendors: ["Huawei"]
---
The Ruritanian regulator ordered operators to remove Huawei gear from the Zendaburg core network.
"""


def found_text(store: Store, hits: list[tuple[str, float]]) -> list[str]:
    """For each hit, "Ruritanian" if its chunk says so, else its first word."""
    texts = {p.chunk_id: p.text for p in store.get(ids=[chunk_id for chunk_id, _ in hits])}
    return ["Ruritanian" if "Ruritanian" in texts[c] else texts[c].split()[0] for c, _ in hits]


def test_masks_agree_with_the_python_evaluator_for_every_combination(assistant):
    """Country x vendor x kind x date range, on the real corpus: columns == Filters.matches."""
    lexical = assistant.retriever.lexical
    lexical.refresh(assistant.store)
    rows = assistant.store.get()
    combos = itertools.product(
        (None, "Japan", "Canada", "United Kingdom", "Atlantis"), (None, "Huawei", "ZTE"),
        (None, "statement", "timeline"), (None, date(2019, 1, 1)), (None, date(2021, 12, 31)))
    checked = 0
    for country, vendor, kind, since, until in combos:
        flt = Filters(country=country, vendor=vendor, kind=kind, since=since, until=until)
        expected = {p.chunk_id for p in rows if flt.matches(p.meta)}
        got = lexical.matching_ids(flt)
        if not flt.active():
            assert got is None
            continue
        assert set(got) == expected, flt
        checked += bool(expected)
    assert checked > 20  # most combinations match something: the test is not vacuous


def test_a_changed_index_is_rebuilt_on_the_next_refresh(settings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text(NOTE.replace("Ruritania", "Freedonia"), encoding="utf-8")
    ingest([folder], settings, progress=False)
    store = Store(settings)
    lexical = LexicalIndex()
    lexical.refresh(store)
    assert lexical.search("Ruritanian", 5) == [] and len(lexical.ids) == 1
    (folder / "b.md").write_text(NOTE, encoding="utf-8")
    ingest([folder], settings, progress=False)
    lexical.refresh(store)
    assert len(lexical.ids) == 2
    assert found_text(store, lexical.search("Ruritanian", 5)) == ["Ruritanian"]
    assert len(lexical.matching_ids(Filters(country="Ruritania"))) == 1


def test_a_large_index_is_rebuilt_in_the_background_while_the_old_one_answers(
        settings, tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text(NOTE.replace("Ruritania", "Freedonia"), encoding="utf-8")
    ingest([folder], settings, progress=False)
    store = Store(settings)
    lexical = LexicalIndex(background_at=0)  # every index counts as large here
    lexical.refresh(store)  # the first build always blocks: there is nothing to answer from
    first = lexical.snapshot
    assert first is not None and len(first) == 1
    (folder / "b.md").write_text(NOTE, encoding="utf-8")
    ingest([folder], settings, progress=False)
    release = threading.Event()
    real_build = lexical_module.build

    def held_build(*args):  # the build waits until the test lets it go
        assert release.wait(60)
        return real_build(*args)

    monkeypatch.setattr(lexical_module, "build", held_build)
    lexical.refresh(store)  # returns at once; the build runs in a thread
    assert lexical.snapshot is first and lexical.search("Ruritanian", 5) == []
    assert not lexical.wait(0.2)  # the build is still running
    release.set()
    assert lexical.wait(60)
    assert lexical.snapshot is not first and len(lexical.ids) == 2
    assert found_text(store, lexical.search("Ruritanian", 5)) == ["Ruritanian"]
    lexical.refresh(store)  # unchanged generation: nothing to do
    assert lexical.wait(1)


def test_the_built_index_is_cached_for_its_collection_and_generation_only(settings, tmp_path,
                                                                          monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text(NOTE.replace("Ruritania", "Freedonia"), encoding="utf-8")
    ingest([folder], settings, progress=False)
    store = Store(settings)
    cache = tmp_path / "cache"
    first = LexicalIndex(cache_dir=cache)
    first.refresh(store)
    files = list(cache.glob("bm25-*.npz"))
    assert [f.name for f in files] == [f"bm25-{store.chunks.id}-{store.version()}.npz"]

    def no_reading(*args):
        raise AssertionError("read from Chroma although the cache holds this generation")

    with monkeypatch.context() as patch:
        patch.setattr(lexical_module, "read_snapshot", no_reading)
        second = LexicalIndex(cache_dir=cache)
        second.refresh(store)
    assert second.ids == first.ids and second.snapshot.vocab == first.snapshot.vocab
    # the cache holds term frequencies (a byte a posting), the weights are computed on load
    with np.load(files[0]) as saved:
        assert "weights" not in saved and saved["tf"].dtype == np.uint8
    assert np.array_equal(second.snapshot.weights, first.snapshot.weights)
    question = "Freedonian regulator Huawei core network"
    assert second.search(question, 5) == first.search(question, 5) != []
    flt = Filters(country="Freedonia", since=date(2024, 1, 1))
    assert second.matching_ids(flt) == first.matching_ids(flt) != []
    flt = Filters(kind="article", vendor="huawei technologies")  # kinds and flags from the file
    assert second.matching_ids(flt) == first.matching_ids(flt) != []

    (folder / "b.md").write_text(NOTE, encoding="utf-8")  # a new generation: read afresh
    ingest([folder], settings, progress=False)
    third = LexicalIndex(cache_dir=cache)
    third.refresh(store)
    assert len(third.ids) == 2
    assert [f.name for f in cache.glob("bm25-*.npz")] == [
        f"bm25-{store.chunks.id}-{store.version()}.npz"]  # the old generation's is gone


def test_a_cache_of_an_older_layout_is_rebuilt(settings, tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text(NOTE, encoding="utf-8")
    ingest([folder], settings, progress=False)
    store = Store(settings)
    cache = tmp_path / "cache"
    with monkeypatch.context() as patch:
        patch.setattr(lexical_module, "CACHE_VERSION", lexical_module.CACHE_VERSION - 1)
        LexicalIndex(cache_dir=cache).refresh(store)
    reads = []
    real_read = lexical_module.read_snapshot
    monkeypatch.setattr(lexical_module, "read_snapshot",
                        lambda *args: reads.append(1) or real_read(*args))
    LexicalIndex(cache_dir=cache).refresh(store)
    assert reads == [1]  # read afresh from Chroma, not from the old file
    reads.clear()
    LexicalIndex(cache_dir=cache).refresh(store)
    assert reads == []  # and cached anew in the current layout


def test_an_unreadable_cache_is_ignored_and_rebuilt(settings, tmp_path, caplog):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text(NOTE, encoding="utf-8")
    ingest([folder], settings, progress=False)
    store = Store(settings)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / f"bm25-{store.chunks.id}-{store.version()}.npz").write_bytes(b"not a zip")
    lexical = LexicalIndex(cache_dir=cache)
    lexical.refresh(store)
    assert len(lexical.ids) == 1 and "unreadable lexical index cache" in caplog.text

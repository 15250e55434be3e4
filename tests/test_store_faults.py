"""Store failures and index freshness: what is "unavailable" and what is a bug, retries, version
tokens, side-index rebuilds that lag or fail, settings copies, and the warm-up race."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from bot.core.assistant import Assistant
from bot.core.errors import BotError, IndexReplacedError, IndexUnavailableError
from bot.core.filters import Filters
from bot.core.lexical import LexicalIndex
from bot.core.retrieval import Retriever
from bot.core.store import Store
from ingest.pipeline import ingest

pytestmark = pytest.mark.slow  # the store's fault suite

NOTE = """---
title: "Note on {place}"
url: "https://example.org/{place}"
outlet: "Test Outlet"
published: "2024-03-01"
countries: ["{country}"]
vendors: ["Huawei"]
---
The {place} regulator ordered operators to remove Huawei gear from the {word} core network.
"""


def note(folder: Path, name: str, place: str, word: str, country: str = "Japan") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(NOTE.format(place=place, word=word, country=country), encoding="utf-8")
    return folder


# ---- errors: connection failures are "unavailable", everything else is a bug
def test_a_bad_query_is_raised_as_the_bug_it_is_not_as_an_unavailable_index(settings, tmp_path):
    """Store._query turned any exception into IndexUnavailableError carrying the raw text."""
    ingest([note(tmp_path / "docs", "a", "Ruritania", "Zendaburg")], settings, progress=False)
    store = Store(settings)
    with pytest.raises(Exception) as info:  # whatever chromadb raises
        store.query([1.0] + [0.0] * 383, 3, where={"$nonsense": [1]})
    assert not isinstance(info.value, BotError)


def test_an_index_error_that_is_a_bug_reaches_the_api_as_the_generic_error(
        corpus_index, monkeypatch, caplog):
    """Not 'unavailable' (a 503 saying to try again), not the exception's text: a 500 with the
    generic sentence, and the traceback in the log."""
    from fastapi.testclient import TestClient

    from bot.server.app import create_app

    settings, _ = corpus_index
    assistant = Assistant(settings)

    from chromadb.api.models.Collection import Collection

    def broken(self, *args, **kwargs):
        raise KeyError("internal-detail-xyz")  # a bug inside chromadb, or in what we sent it

    monkeypatch.setattr(Collection, "query", broken)
    with TestClient(create_app(settings, assistant), raise_server_exceptions=False) as client, \
            caplog.at_level(logging.ERROR):
        reply = client.post("/api/ask", json={"question": "Which countries banned Huawei?"})
    assert reply.status_code == 500
    assert "internal-detail-xyz" not in reply.text and "unavailable" not in reply.text
    assert any(r.exc_info and "internal-detail-xyz" in str(r.exc_info[1]) for r in caplog.records)


def test_a_replaced_collection_is_retried_once_not_once_per_nested_call(corpus_index,
                                                                        monkeypatch):
    """ask -> ensure_ready/passages/records were each wrapped in @reconnects: 2 x 2 x 2 tries."""
    settings, _ = corpus_index
    assistant = Assistant(settings)
    calls = []

    def replaced(self) -> dict:
        calls.append(1)
        raise IndexReplacedError()

    monkeypatch.setattr(Store, "index_record", replaced)
    with pytest.raises(IndexReplacedError):
        assistant.ask("Which countries have banned Huawei?")
    assert len(calls) == 2


# ---- freshness
def test_a_stalled_writer_cannot_set_the_index_back_to_a_version_already_indexed(
        settings, tmp_path):
    """Issue 13: the generation was read-modify-write. A writer that read generation g, stalled,
    and wrote g + 1 after others had moved on put the index back on a number whose snapshot was
    already built, so the serving process kept a snapshot missing later documents."""
    folder = tmp_path / "docs"
    ingest([note(folder, "a", "Ruritania", "Zendaburg")], settings, progress=False)
    serving, stalled = Store(settings), Store(settings)
    read = threading.Event()
    resume = threading.Event()
    real = stalled.index_record

    def slow_record() -> dict:
        record = real()
        read.set()
        assert resume.wait(30)
        return record

    stalled.index_record = slow_record  # type: ignore[method-assign]
    writer = threading.Thread(target=stalled.mark_updated)
    writer.start()
    assert read.wait(30)
    ingest([note(folder, "b", "Freedonia", "Grand Fenwick")], settings, progress=False)
    lexical = LexicalIndex()
    lexical.refresh(serving)  # indexes Freedonia
    ingest([note(folder, "c", "Latveria", "Doomstadt")], settings, progress=False)
    resume.set()  # the stalled writer's late write lands after the Latveria one
    writer.join(30)
    lexical.refresh(serving)
    assert lexical.search("Doomstadt", 5)


def test_a_narrow_filter_during_a_background_rebuild_finds_new_documents(settings, tmp_path):
    """The ids-restricted search used the lagging snapshot's ids: new documents were missed."""
    from bot.core.embeddings import get_embedder

    folder = tmp_path / "docs"
    for n, place in enumerate(("Ruritania", "Freedonia", "Latveria", "Genovia")):
        note(folder, f"n{n}", place, "Zendaburg")
    ingest([folder], settings, progress=False)
    retriever = Retriever(Store(settings))
    retriever.lexical.background_at = 0  # every rebuild runs in the background
    question = "Which regulator ordered Huawei gear removed?"
    vector = get_embedder(settings).embed([question])[0]
    sweden = Filters(country="Sweden")
    assert retriever.retrieve(question, vector, 4, sweden) == []
    ingest([note(folder, "new", "Sweden", "Stockholm", country="Sweden")], settings,
           progress=False)
    with retriever.lexical._lock:  # a rebuild is under way (the one this question starts waits)
        found = retriever.retrieve(question, vector, 4, sweden)
    assert retriever.lexical.wait(30)
    assert found and {p.doc_id for p in found} == {found[0].doc_id}
    assert "Sweden" in found[0].text


def test_a_failing_rebuild_backs_off_instead_of_reading_the_index_on_every_question(
        settings, tmp_path, monkeypatch):
    from bot.core import lexical as lexical_module
    from bot.core.lexical import BACKOFF_FIRST

    folder = tmp_path / "docs"
    ingest([note(folder, "a", "Ruritania", "Zendaburg")], settings, progress=False)
    store = Store(settings)
    now = [1000.0]
    index = LexicalIndex(background_at=0, clock=lambda: now[0])
    index.refresh(store)
    ingest([note(folder, "b", "Freedonia", "Grand Fenwick")], settings, progress=False)
    reads = []
    real = lexical_module.read_snapshot

    def failing(store, generation):
        reads.append(generation)
        raise IndexUnavailableError("The index is unavailable right now; try again shortly.")

    monkeypatch.setattr(lexical_module, "read_snapshot", failing)
    for _ in range(5):  # five questions in a row
        index.refresh(store)
        assert index.wait(30)
    assert len(reads) == 1
    assert index.search("Zendaburg", 5)  # the previous snapshot keeps answering
    now[0] += BACKOFF_FIRST + 0.1
    index.refresh(store)
    assert index.wait(30)
    assert len(reads) == 2
    monkeypatch.setattr(lexical_module, "read_snapshot", real)
    now[0] += 2 * BACKOFF_FIRST + 0.1
    index.refresh(store)
    assert index.wait(30)
    assert index.search("Fenwick", 5) and index.failures == 0


def test_a_first_build_that_fails_is_not_retried_on_the_next_question_at_once(
        settings, tmp_path, monkeypatch):
    from bot.core import lexical as lexical_module

    ingest([note(tmp_path / "docs", "a", "Ruritania", "Zendaburg")], settings, progress=False)
    store = Store(settings)
    reads = []

    def failing(store, generation):
        reads.append(generation)
        raise IndexUnavailableError("The index is unavailable right now; try again shortly.")

    monkeypatch.setattr(lexical_module, "read_snapshot", failing)
    index = LexicalIndex()
    for _ in range(3):  # within BACKOFF_FIRST of each other
        with pytest.raises(IndexUnavailableError):
            index.refresh(store)
    assert len(reads) == 1


# ---- settings and the warm-up race
def test_a_copied_settings_object_has_its_own_chroma_path(settings, tmp_path):
    assert settings.chroma_path == settings.data_dir / "chroma"
    moved = settings.model_copy(update={"data_dir": tmp_path / "elsewhere"})
    assert moved.chroma_path == tmp_path / "elsewhere" / "chroma"


def test_the_retriever_is_built_once_when_a_question_races_the_warm_up(corpus_index,
                                                                       monkeypatch):
    """Two threads asking for the lazily built retriever at once built two (two BM25 builds)."""
    from bot.core import assistant as assistant_module

    settings, _ = corpus_index
    assistant = Assistant(settings)
    built = []
    both = threading.Barrier(2, timeout=2)

    class Counting(Retriever):
        def __init__(self, store: Store) -> None:
            built.append(self)
            try:
                both.wait()  # a second construction would meet this one here
            except threading.BrokenBarrierError:
                pass
            super().__init__(store)

    monkeypatch.setattr(assistant_module, "Retriever", Counting)
    got = []
    threads = [threading.Thread(target=lambda: got.append(assistant.retriever))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(built) == 1 and got[0] is got[1]

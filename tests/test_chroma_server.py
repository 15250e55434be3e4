"""Server mode: a real `chroma run` server shared by an ingest process and a serving Assistant."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.core.assistant import Assistant
from bot.core.errors import EmptyIndexError, IndexUnavailableError
from bot.core.store import Store
from ingest.pipeline import ingest
from tests.conftest import CORPUS, ROOT, make_settings

CHROMA = Path(sys.executable).parent / "chroma"
NDAA = "ap-04-us-ndaa-section-889.md"
GCSB = "ap-03-new-zealand-gcsb-spark.md"
pytestmark = [pytest.mark.slow,  # a real `chroma run` server
              pytest.mark.skipif(not CHROMA.exists(), reason="the chroma CLI is not installed")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """A `chroma run` subprocess on 127.0.0.1 that can be stopped and started again."""

    def __init__(self, path: Path, port: int) -> None:
        self.path, self.port, self.proc = path, port, None
        self.url = f"http://127.0.0.1:{port}"

    def start(self, timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1",
             "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "chroma run exited early"
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("chroma server did not answer its heartbeat in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture
def server(tmp_path: Path):
    chroma = ChromaServer(tmp_path / "chroma-server", free_port())
    chroma.start()
    yield chroma
    chroma.stop()


def ingest_in_subprocess(url: str, data_dir: Path, corpus: Path) -> str:
    """`python -m bot.cli ingest` in another process, writing through the Chroma server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENDORBAN_")}
    env.update(VENDORBAN_CHROMA_URL=url, VENDORBAN_DATA_DIR=str(data_dir),
               VENDORBAN_EMBEDDING_BACKEND="torch", PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-m", "bot.cli", "ingest", "--quiet", str(corpus)],
                          env=env, cwd=data_dir.parent, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_answers_documents_ingested_by_another_process_through_the_server(server, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / NDAA, corpus / NDAA)
    settings = make_settings(tmp_path / "serve-data", chroma_url=server.url)
    assistant = Assistant(settings)
    with pytest.raises(EmptyIndexError):
        assistant.ask("What does section 889 ban?")
    before = Store(settings).generation()

    assert "1 new" in ingest_in_subprocess(server.url, tmp_path / "ingest-data", corpus)

    assert Store(settings).generation() == before + 1
    answer = assistant.ask("What does section 889 of the defense act ban?")
    assert answer.found and answer.citations
    assert answer.citations[0].title.startswith("US gov staffers are officially banned")
    assert not settings.chroma_path.exists()  # nothing was written to an embedded index


def test_server_down_gives_index_unavailable_then_recovers_without_restart(server, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(CORPUS / GCSB, corpus / GCSB)
    settings = make_settings(tmp_path / "serve-data", chroma_url=server.url)
    assert ingest([corpus], settings, progress=False).new == 1
    assistant = Assistant(settings)
    question = "Why did the GCSB reject Spark's proposal to use Huawei for 5G?"
    assert assistant.ask(question).found

    server.stop()
    for call in (lambda: assistant.ask(question), assistant.stats, assistant.sources):
        with pytest.raises(IndexUnavailableError, match="unavailable right now") as info:
            call()
        assert server.url in str(info.value)

    server.start()
    answer = assistant.ask(question)
    assert answer.found
    assert answer.citations[0].title == "GCSB bans Huawei 5G"
    assert assistant.stats()["documents"] == 1


def test_a_narrow_filter_is_searched_by_ids_through_the_server(server, tmp_path, monkeypatch):
    """The ids-restricted search (the in-memory mask's ids sent with the query) works over
    HTTP and finds what Chroma's own filtered search finds."""
    from bot.core.embeddings import get_embedder
    from bot.core.filters import Filters

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in sorted(os.listdir(CORPUS)):
        if name.endswith(".md"):
            shutil.copy(CORPUS / name, corpus / name)
    settings = make_settings(tmp_path / "serve-data", chroma_url=server.url)
    assert ingest([corpus], settings, progress=False).new >= 30
    assistant = Assistant(settings)
    flt = Filters(country="New Zealand")
    retriever = assistant.retriever
    retriever.lexical.refresh(assistant.store)
    allowed = retriever.lexical.matching_ids(flt)
    assert allowed and len(allowed) * 4 < len(retriever.lexical.ids)  # narrow: the ids path
    sent = []
    original = assistant.store.query

    def spy(vector, k, where=None, ids=None):
        sent.append(ids)
        return original(vector, k, where, ids)

    monkeypatch.setattr(assistant.store, "query", spy)
    vector = get_embedder(settings).embed(["Why did the GCSB reject Spark's Huawei plan?"])[0]
    found = retriever._dense(vector, flt)
    assert sent == [allowed]
    by_where = original(vector, len(found), flt.where())
    assert found and [p.chunk_id for p in found] == [p.chunk_id for p in by_where]
    answer = assistant.ask("Why did the GCSB reject Spark's Huawei plan?", flt)
    assert answer.found and answer.citations

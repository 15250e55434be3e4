"""The benchmarks' own code runs (tiny sizes): a bench that rots silently measures nothing.

Figures are not checked here (they are machine-dependent; `make bench` prints them).
"""

from __future__ import annotations

from bench.ingest_bench import chunk_texts, timed_ingest
from bench.query_bench import FILTERS, time_asks
from bench.synthetic import write_corpus
from tests.conftest import make_settings


def test_ingest_bench_measures_the_pipeline_on_the_texts_it_embeds(tmp_path):
    corpus = write_corpus(tmp_path / "corpus", 4, chunks_per_doc=1)
    settings = make_settings(tmp_path / "data", chunk_words=150)
    texts = chunk_texts(corpus, settings)
    report, embed_s = timed_ingest(corpus, settings)
    assert report.chunks_embedded == len(texts) >= 4 and not report.failed
    assert 0 < embed_s <= report.seconds


def test_query_bench_asks_with_every_filter(assistant, monkeypatch):
    asked: list = []
    real_ask = assistant.ask

    def recording_ask(question, filters=None):
        asked.append(filters)
        return real_ask(question, filters)

    monkeypatch.setattr(assistant, "ask", recording_ask)
    samples = time_asks(assistant, 2)
    assert len(samples) == 2 and all(s > 0 for s in samples)
    for flt in FILTERS.values():
        asked.clear()
        assert len(time_asks(assistant, 1, flt)) == 1
        assert asked and all(f is flt for f in asked)  # timed with the filter, not without


def test_synthetic_index_is_written_through_the_store_and_grows_in_place(tmp_path, monkeypatch):
    import numpy as np

    from bench import synthetic
    from bench.query_bench import recall_at_10
    from bot.core.store import Store

    monkeypatch.setattr(synthetic, "WORK", tmp_path)
    monkeypatch.setattr(synthetic, "BATCH", 20)
    written = []
    real = Store.write_documents
    monkeypatch.setattr(Store, "write_documents",
                        lambda self, *a: written.append(len(a[1])) or real(self, *a))
    settings, vectors, ids = synthetic.synthetic_index(30, grow=True, hnsw_ef_search=64)
    assert written == [20, 10] and Store(settings).count() == 30 == len(ids) == len(vectors)
    assert Store(settings).chunks.configuration_json["hnsw"]["ef_search"] == 64
    settings, vectors, ids = synthetic.synthetic_index(50, grow=True)  # the first 30 stay
    assert written == [20, 10, 20, 10] and Store(settings).count() == 50
    assert len(Store(settings).doc_records()) == 50 // synthetic.CHUNKS_PER_DOC
    assert np.array_equal(vectors, synthetic.synthetic_chunks(50)[1])
    assert recall_at_10(Store(settings), vectors, ids, np.asarray(vectors[:5])) == 1.0

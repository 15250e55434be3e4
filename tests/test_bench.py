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

"""The Python `where` evaluator agrees with Chroma, so filtered queries may take the fast path."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.filters import Filters
from bot.core.metadata_filter import Unsupported, matches
from bot.core.schema import encode_chunk
from bot.core.store import Store

WHERES = [
    Filters(country="Japan").where(),
    Filters(vendor="ZTE").where(),
    Filters(kind="statement").where(),
    Filters(since=date(2019, 1, 1)).where(),
    Filters(until=date(2018, 12, 31)).where(),
    Filters(country="United States", vendor="Huawei", since=date(2019, 6, 1)).where(),
    {"$or": [{"kind": "statement"}, {"published_ts": {"$lt": 20190101}}]},
    {"outlet": {"$in": ["Reuters", "The Inquirer"]}},
    {"outlet": {"$ne": "Reuters"}},
]


@pytest.mark.parametrize("where", WHERES, ids=str)
def test_python_filter_selects_the_chunks_chroma_selects(corpus_index, where):
    store = Store(corpus_index[0])
    everything = store.get()
    by_python = {p.chunk_id for p in everything if matches(encode_chunk(p.meta), where)}
    by_chroma = {p.chunk_id for p in store.get(where=where)}
    assert by_python == by_chroma
    assert 0 < len(by_chroma) < len(everything) or where.get("outlet")


@pytest.mark.parametrize("where", WHERES[:6], ids=str)
def test_filtered_query_returns_chromas_filtered_top_k(corpus_index, where):
    from bot.core.embeddings import get_embedder

    settings = corpus_index[0]
    store = Store(settings)
    vector = get_embedder(settings).embed(["Huawei ban on 5G equipment"])[0]
    fast = [p.chunk_id for p in store.query(vector, 5, where)]
    exact = [p.chunk_id for p in store._query(vector, 5, where)]
    assert fast == exact and fast


def test_unknown_operators_are_left_to_chroma():
    with pytest.raises(Unsupported):
        matches({"a": 1}, {"a": {"$contains": "x"}})
    with pytest.raises(Unsupported):
        matches({"a": 1}, {"$not": {"a": 1}})

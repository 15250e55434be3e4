"""Ingest: idempotence, changed documents replaced, prune, bad input (real Chroma, real model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.core.store import Store
from ingest.pipeline import ingest

DOC = """---
title: "A test statement"
url: https://example.org/{slug}
outlet: Example Outlet
published: 2020-07-14
kind: statement
speakers: [Jane Roe]
countries: [United Kingdom]
vendors: [Huawei]
---
Jane Roe, the minister, said the decision was taken after a long review. "{quote}," she told
parliament. The rules apply to 5G networks from 2021.
"""


def write_doc(folder: Path, slug: str, quote: str = "This is not an easy decision") -> Path:
    path = folder / f"{slug}.md"
    path.write_text(DOC.format(slug=slug, quote=quote), encoding="utf-8")
    return path


def test_reingest_of_unchanged_corpus_writes_nothing(settings, corpus_copy):
    first = ingest([corpus_copy], settings, progress=False)
    assert first.new >= 3 and first.chunks_embedded > 0 and not first.failed
    store = Store(settings)
    before = store.index_record()["generation"]
    second = ingest([corpus_copy], settings, store=store, progress=False)
    assert (second.new, second.changed, second.removed) == (0, 0, 0)
    assert second.unchanged == first.new and second.chunks_embedded == 0
    assert "nothing to write" in second.summary()
    assert store.index_record()["generation"] == before


def test_modified_document_has_only_its_chunks_replaced(settings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    changed = write_doc(folder, "one")
    write_doc(folder, "two")
    ingest([folder], settings, progress=False)
    store = Store(settings)
    ids_before = {p.chunk_id: p.doc_id for p in store.get()}
    changed.write_text(DOC.format(slug="one", quote="We changed our minds"), encoding="utf-8")
    report = ingest([folder], settings, store=store, progress=False)
    assert (report.changed, report.unchanged, report.new) == (1, 1, 0)
    after = {p.chunk_id: p for p in store.get()}
    changed_id = next(p.doc_id for p in after.values() if "changed our minds" in p.text)
    kept = {c for c, d in ids_before.items() if d != changed_id}
    assert kept <= set(after)  # the other document's chunks are untouched
    mine = [p for p in after.values() if p.doc_id == changed_id]
    assert mine and not any("not an easy decision" in p.text for p in mine)
    assert set(ids_before) - kept - set(after)  # its old chunk ids are gone


def test_prune_removes_a_deleted_document(settings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_doc(folder, "one")
    gone = write_doc(folder, "two")
    ingest([folder], settings, progress=False)
    gone.unlink()
    kept = ingest([folder], settings, progress=False)
    assert kept.removed == 0 and len(Store(settings).doc_records()) == 2
    pruned = ingest([folder], settings, prune=True, progress=False)
    assert pruned.removed == 1
    records = Store(settings).doc_records()
    assert [m.url for m in records.values()] == ["https://example.org/one"]


def test_bad_files_are_reported_and_the_rest_ingested(settings, tmp_path, capsys):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_doc(folder, "good")
    (folder / "empty.md").write_text("   \n", encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02 binary")
    (folder / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (folder / "broken.md").write_text("---\ntitle: [unclosed\n---\nbody text here\n", "utf-8")
    (folder / "baddate.md").write_text("---\ntitle: x\npublished: someday\n---\nbody\n", "utf-8")
    (folder / "plain.txt").write_text("A Title Line\n\nSome plain text without front matter.\n",
                                      encoding="utf-8")
    report = ingest([folder], settings, progress=False)
    problems = dict(report.failed)
    assert report.new == 2  # good.md and plain.txt
    assert "empty file" in problems[str(folder / "empty.md")]
    assert "binary" in problems[str(folder / "binary.txt")]
    assert "not UTF-8" in problems[str(folder / "latin1.txt")]
    assert "broken front matter" in problems[str(folder / "broken.md")]
    assert "not a date" in problems[str(folder / "baddate.md")]
    titles = {m.title for m in Store(settings).doc_records().values()}
    assert "A Title Line" in titles


def test_cli_exit_status_is_nonzero_when_a_file_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VENDORBAN_EMBEDDING_BACKEND", "torch")  # no ONNX export here
    folder = tmp_path / "docs"
    folder.mkdir()
    write_doc(folder, "good")
    assert main(["ingest", str(folder), "--quiet"]) == 0
    (folder / "empty.md").write_text("", encoding="utf-8")
    assert main(["ingest", str(folder), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert f"error: {folder / 'empty.md'}: empty file" in captured.err
    assert "1 unchanged" in captured.out and "1 failed" in captured.out


def test_a_failed_run_leaves_the_existing_index_intact(settings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_doc(folder, "good")
    ingest([folder], settings, progress=False)
    before = Store(settings).count()
    (folder / "good.md").write_bytes(b"\xff\xfe garbage")
    report = ingest([folder], settings, progress=False)
    assert report.failed and Store(settings).count() == before


def test_chunks_keep_exact_offsets_into_the_document(settings, corpus_copy):
    from ingest.sources import load_under

    ingest([corpus_copy], settings, progress=False)
    docs = {d.doc_id: d for f in corpus_copy.iterdir() for d in load_under(f, corpus_copy)}
    for p in Store(settings).get():
        assert docs[p.doc_id].text[p.start : p.end] == p.text


def test_a_write_that_fails_stops_ingest_after_the_groups_already_written(
        settings, tmp_path, monkeypatch):
    """Groups are written in the background while the next embeds; a failed write is raised,
    the groups written before it stay whole, and a re-run completes the rest."""
    from ingest import pipeline

    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(6):
        write_doc(folder, f"doc{n}")
    monkeypatch.setattr(pipeline, "EMBED_GROUP", 1)  # one document per group
    real_write = Store.write_documents
    written: list[str] = []

    def failing_third(self, records, *args):
        if len(written) == 2:
            raise RuntimeError("disk full")
        real_write(self, records, *args)
        written.extend(r.doc_id for r in records)

    monkeypatch.setattr(Store, "write_documents", failing_third)
    generation = Store(settings).generation()
    with pytest.raises(RuntimeError, match="disk full"):
        ingest([folder], settings, progress=False)
    assert Store(settings).generation() == generation + 1  # other processes see the two
    records = Store(settings).doc_records()
    assert sorted(records) == sorted(written) and len(written) == 2
    monkeypatch.setattr(Store, "write_documents", real_write)
    report = ingest([folder], settings, progress=False)
    assert report.new == 4 and report.unchanged == 2 and len(Store(settings).doc_records()) == 6


def test_front_matter_dates_aliases_and_partial_dates_at_ingest(tmp_path):
    from bot.core.errors import IngestError
    from ingest.sources import load

    def doc(front):
        path = tmp_path / "a.md"
        path.write_text(f"---\ntitle: T\n{front}\n---\nBody text of the article.\n")
        return path

    month = load(doc("published: 2018-04"), "a.md")[0]
    assert str(month.published) == "2018-04"
    for front, said in (("published: 2018-13-45", "broken front matter"),
                        ("a: &x [1, 2]\nb: [*x, *x]", "anchors or aliases")):
        try:
            load(doc(front), "a.md")
        except IngestError as exc:
            assert said in str(exc)
        else:
            raise AssertionError(f"{front!r} was accepted")

"""Ingest robustness: stable ids however a path is typed, a crashing loader is one source's error,
symlinks that cannot be followed are reported (real Chroma, real model)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.store import Store
from ingest.pipeline import ingest
from tests.conftest import CORPUS

NOTE = "---\ntitle: {title}\n---\nThe regulator reviewed {title} equipment in the core network.\n"


def notes(folder: Path, *titles: str) -> Path:
    """A folder of Markdown notes without a url (their id comes from their path)."""
    folder.mkdir(parents=True)
    for title in titles:
        (folder / f"{title.lower()}.md").write_text(NOTE.format(title=title), encoding="utf-8")
    return folder


def test_a_folder_ingested_by_absolute_then_relative_path_is_stored_once(
        settings, tmp_path, monkeypatch):
    folder = notes(tmp_path / "work" / "notes", "Huawei", "ZTE")
    assert ingest([folder.resolve()], settings, progress=False).new == 2
    monkeypatch.chdir(tmp_path / "work")
    again = ingest([Path("notes")], settings, progress=False)
    assert (again.new, again.failed) == (0, [])
    assert len(Store(settings).doc_records()) == 2


def test_a_moved_folder_keeps_its_document_ids(settings, tmp_path):
    folder = notes(tmp_path / "old" / "notes", "Huawei")
    ingest([folder], settings, progress=False)
    ids = set(Store(settings).doc_records())
    (tmp_path / "new").mkdir()
    moved = shutil.move(folder, tmp_path / "new" / "notes")
    report = ingest([Path(moved)], settings, progress=False)
    assert (report.new, report.changed) == (0, 1)  # the same document, at its new source path
    records = Store(settings).doc_records()
    assert set(records) == ids and records.popitem()[1].source == str(Path(moved) / "huawei.md")


def test_a_file_and_its_folder_give_the_same_document(settings, tmp_path):
    folder = notes(tmp_path / "notes", "Huawei", "ZTE")
    ingest([folder / "huawei.md"], settings, progress=False)
    report = ingest([folder], settings, progress=False)
    assert (report.new, report.unchanged) == (1, 1)
    assert len(Store(settings).doc_records()) == 2


def test_reingest_of_the_shipped_corpus_writes_nothing_and_ids_still_come_from_urls(
        corpus_index):
    settings, _ = corpus_index
    report = ingest([CORPUS], settings, progress=False)
    assert not report.wrote and not report.failed and report.unchanged > 0
    records = Store(settings).doc_records().values()
    with_url = [m for m in records if m.kind != "timeline" and m.url]
    assert with_url and all(m.doc_id == sha1(m.url) for m in with_url)
    # Without a url: the id `vendorban ingest` (corpus_dir "corpus") always gave it.
    without = [m for m in records if m.kind != "timeline" and not m.url]
    assert without and all(
        m.doc_id == sha1(f"corpus/{Path(m.source).name}") for m in without)


def sha1(key: str) -> str:
    return hashlib.sha1(key.encode()).hexdigest()[:16]


class BrokenReader:
    """Stands in for pypdf's reader on a malformed file: it raises what pypdf raises there."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise KeyError("/Root")


def crashing_loader(path: Path, source: str) -> list:
    raise IndexError("list index out of range")


@pytest.mark.parametrize(("name", "problem"), [
    ("bad.pdf", "not a readable PDF (KeyError: '/Root')"),
    ("bad.txt", "cannot read it (IndexError: list index out of range)"),
])
def test_any_exception_reading_one_file_is_its_one_error_line_and_the_rest_is_ingested(
        tmp_path, monkeypatch, capsys, name, problem):
    import pypdf

    from ingest import sources

    folder = notes(tmp_path / "notes", "Huawei")
    (folder / name).write_bytes(b"%PDF-1.4 whatever")
    monkeypatch.setattr(pypdf, "PdfReader", BrokenReader)
    monkeypatch.setitem(sources.LOADERS, ".txt", crashing_loader)
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VENDORBAN_EMBEDDING_BACKEND", "torch")  # no ONNX export here
    status = main(["ingest", "--quiet", str(folder)])
    out, err = capsys.readouterr()
    assert status == 1
    assert err.splitlines() == [f"error: {folder / name}: {problem}"]
    assert out.startswith("1 new, 0 changed") and "1 failed" in out


def test_symlink_loops_and_dangling_links_are_each_named_once_and_do_not_stop_ingest(
        tmp_path, monkeypatch, capsys):
    folder = notes(tmp_path / "notes", "Huawei")
    (folder / "sub").mkdir()
    (folder / "sub" / "up").symlink_to("..")  # a loop through the folder holding it
    (folder / "self").symlink_to("self")  # a link to itself
    (folder / "gone.md").symlink_to("missing.md")  # dangling
    (folder / "alias.md").symlink_to("huawei.md")  # a link to a file is read as before
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VENDORBAN_EMBEDDING_BACKEND", "torch")  # no ONNX export here
    status = main(["ingest", "--quiet", str(folder)])
    out, err = capsys.readouterr()
    assert status == 0 and out.startswith("2 new, 0 changed")
    assert sorted(err.splitlines()) == [
        f"warning: {folder / 'gone.md'}: skipped, a dangling symbolic link "
        "(to missing.md, which does not exist)",
        f"warning: {folder / 'self'}: skipped, a symbolic link loop (to self)",
        f"warning: {folder / 'sub' / 'up'}: skipped, a symbolic link loop "
        "(to .., a folder containing it)",
    ]

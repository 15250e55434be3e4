"""The timeline: schema, YAML -> documents, reading it back from the index, rendering, the CLI."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.core.filters import Filters
from bot.core.timeline import (
    TimelineError,
    load_timeline,
    parse_timeline,
    timeline,
)
from bot.render.timeline import numbered_sources, render_timeline
from ingest.pipeline import ingest
from ingest.sources import discover, load
from tests.conftest import CORPUS

ENTRY = {
    "date": date(2019, 5, 15), "country": "United States", "body": "President of the United States",
    "measure": "Executive Order 13873 declared a national emergency over ICT supply-chain threats.",
    "scope": "ICT supply chain", "vendors": ["Huawei"], "status": "in force",
    "source_url": "https://www.cisa.gov/eo-13873", "source": "CISA",
}


def as_yaml(*entries: dict) -> str:
    return yaml.safe_dump(list(entries), sort_keys=False)


def write_timeline(folder: Path, *entries: dict, name: str = "timeline-test.yaml") -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(as_yaml(*entries), encoding="utf-8")
    return path


def test_a_valid_entry_parses():
    [entry] = parse_timeline(as_yaml(ENTRY), "t.yaml")
    assert str(entry.date) == "2019-05-15" and entry.status == "in force"


def test_an_entry_may_give_only_a_month_and_reads_as_a_sentence():
    [entry] = parse_timeline(as_yaml({**ENTRY, "date": "2019-05"}), "t.yaml")
    assert str(entry.date) == "2019-05" and entry.date.spoken() == "May 2019"


@pytest.mark.parametrize(("change", "problem"), [
    ({"date": "May 2019"}, "entry 2: date: Value error, 'May 2019' is not a date"),
    ({"status": "banned"}, "entry 2: status: Input should be 'announced'"),
    ({"source_url": "ftp://example.org/x"}, "entry 2: source_url: Value error, must be an http"),
    ({"source_url": "www.example.org/x"}, "entry 2: source_url: Value error, must be an http"),
    ({"notes": "extra"}, "entry 2: notes: Extra inputs are not permitted"),
    ({"vendors": None}, "entry 2: vendors: Input should be a valid list"),
    ({"measure": ""}, "entry 2: measure: String should have at least 1 character"),
])
def test_invalid_entries_are_reported_with_their_number_and_field(change, problem):
    with pytest.raises(TimelineError) as caught:
        parse_timeline(as_yaml(ENTRY, {**ENTRY, **change}), "t.yaml")
    assert str(caught.value).startswith("t.yaml: ") and problem in str(caught.value)


def test_a_missing_key_is_an_error():
    broken = {k: v for k, v in ENTRY.items() if k != "source"}
    with pytest.raises(TimelineError, match="entry 1: source: Field required"):
        parse_timeline(as_yaml(broken), "t.yaml")


def test_each_entry_becomes_a_citable_timeline_document(tmp_path):
    path = write_timeline(tmp_path / "c", ENTRY,
                          {**ENTRY, "date": date(2019, 5, 16),
                           "measure": "Huawei was added to the Entity List."})
    docs = load(path, str(path))
    assert len(docs) == 2 and len({d.doc_id for d in docs}) == 2
    doc = docs[0]
    assert doc.title == ("2019-05-15 United States: Executive Order 13873 declared a national "
                         "emergency over...")
    assert (doc.kind, doc.url, doc.outlet, str(doc.published)) == (
        "timeline", ENTRY["source_url"], "CISA", "2019-05-15")
    assert doc.countries == ("United States",) and doc.vendors == ("Huawei",)
    assert doc.text.startswith("On 15 May 2019, United States (President of the United States): "
                               "Executive Order 13873")
    assert doc.text.endswith("(scope: ICT supply chain; vendors: Huawei; status: in force).")


def test_only_yaml_files_named_timeline_are_read(tmp_path):
    folder = tmp_path / "c"
    write_timeline(folder, ENTRY)
    (folder / "config.yaml").write_text("a: 1\n", encoding="utf-8")
    assert [p.name for p in discover(folder)] == ["timeline-test.yaml"]
    with pytest.raises(Exception, match="only YAML files named timeline"):
        load(folder / "config.yaml", str(folder / "config.yaml"))


def test_an_invalid_timeline_file_fails_alone(settings, tmp_path):
    folder = tmp_path / "c"
    write_timeline(folder, {**ENTRY, "status": "rumoured"})
    (folder / "note.md").write_text("---\ntitle: A note\n---\nSome text here.\n", "utf-8")
    report = ingest([folder], settings, progress=False)
    assert report.new == 1 and "status" in report.failed[0][1]


def test_an_edited_entry_replaces_its_old_document(settings, tmp_path):
    other = {**ENTRY, "date": date(2020, 1, 1), "country": "Japan"}
    path = write_timeline(tmp_path / "c", ENTRY, other)
    ingest([path.parent], settings, progress=False)
    path.write_text(as_yaml({**ENTRY, "measure": "An executive order was signed."}, other), "utf-8")
    report = ingest([path.parent], settings, progress=False)
    assert (report.new, report.removed, report.unchanged) == (1, 1, 1)
    from bot.core.store import Store

    measures = [e.measure for e in timeline(Store(settings))]
    assert measures == ["An executive order was signed.", other["measure"]]


def corpus_entries() -> list:
    return [e for f in sorted(CORPUS.glob("timeline*.yaml")) for e in load_timeline(f)]


def test_the_index_gives_the_timeline_back_by_country_oldest_first(assistant):
    uk = timeline(assistant, "UK")
    expected = [e for e in corpus_entries() if e.country == "United Kingdom"]
    assert len(uk) == len(expected) >= 5
    assert timeline(assistant, "britain") == uk == timeline(assistant, "United Kingdom")
    assert [e.date for e in uk] == sorted(e.date for e in expected)
    assert all(e.doc_id for e in uk)
    assert len(timeline(assistant)) == len(corpus_entries())
    assert timeline(assistant, "Narnia") == []
    assert {e.country for e in timeline(assistant, "eu")} == {"European Union"}
    assert all("ZTE" in e.vendors for e in timeline(assistant, vendor="zte"))


def test_rendering_numbers_each_distinct_source_once(assistant):
    canada = timeline(assistant, "Canada")
    numbers, sources = numbered_sources(canada)
    assert numbers[0] == 1 and max(numbers) == len(sources)
    assert len(sources) == len({e.source_url for e in canada}) < len(canada)
    text = render_timeline(canada)
    first = canada[0]
    assert text.splitlines()[0] == (
        f"{first.date}  Canada, {first.body}: "
        f"{first.measure.rstrip('.')} ({first.status}; Huawei, ZTE) [1]")
    assert f"[1] {first.source} {first.source_url}" in text
    assert render_timeline([]) == "No timeline entries found."


def test_retrieval_can_cite_a_timeline_entry(assistant):
    answer = assistant.ask("When did the Stockholm appeals court uphold the ban on Huawei?",
                           Filters(kind="timeline"))
    assert answer.found and answer.citations
    assert answer.citations[0].title.startswith("2022-06-22 Sweden")
    assert answer.citations[0].url.startswith("https://www.loc.gov/")


def test_cli_timeline_prints_a_dated_cited_list(corpus_index, monkeypatch, capsys):
    settings, _ = corpus_index
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(settings.data_dir))
    assert main(["timeline", "usa"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2018-08-13  United States, United States Congress: ")
    assert "\nSources:\n[1] Wikipedia https://en.wikipedia.org/" in out
    assert "Japan" not in out.split("Sources:")[0]
    assert main(["timeline", "Atlantis"]) == 0
    assert "No timeline entries for Atlantis" in capsys.readouterr().out

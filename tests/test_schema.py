"""The metadata schema: typed fields round-trip through Chroma's flat layout, flag keys and
canonical names (countries, blocs, vendors) have one owner, and filters by any alias find what
ingest wrote."""

from __future__ import annotations

import pytest

from bot.core.dates import PartialDate
from bot.core.filters import Filters
from bot.core.schema import (
    ChunkMeta,
    DocumentRecord,
    canonical_country,
    canonical_vendor,
    country_flag,
    decode_chunk,
    decode_record,
    encode_chunk,
    encode_record,
    indexed_fields,
    speaker_flag,
    vendor_flag,
)
from bot.core.store import Store
from ingest.pipeline import ingest

CHUNK = ChunkMeta(
    doc_id="d1", doc_hash="h", title="Britain bars Huawei", url="https://example.org/a",
    outlet="Wire", published=PartialDate(2020, 7), kind="statement", source="corpus/a.md",
    language="en", author="Desk", countries=("United Kingdom", "China"), vendors=("Huawei",),
    speakers=("Oliver Dowden",), speaker_roles={"Oliver Dowden": ("Culture Secretary",)},
    timeline={"country": "United Kingdom", "vendors": ["Huawei"]},
    position=2, start=100, end=250, page=3, attributions=((120, 180, "Oliver Dowden"),),
)


def test_a_chunk_round_trips_through_the_stored_layout():
    for int_flags in (False, True):
        raw = encode_chunk(CHUNK, int_flags)
        assert all(isinstance(v, str | int | float | bool) for v in raw.values())  # Chroma's
        assert decode_chunk(raw) == CHUNK


def test_a_document_record_round_trips_and_keeps_its_registry_fields():
    record = DocumentRecord(**{k: v for k, v in vars(CHUNK).items()
                               if k in DocumentRecord.__dataclass_fields__},
                            n_chunks=4, ingested_at=1.5)
    assert decode_record(encode_record(record)) == record
    assert decode_record(encode_record(record)).n_chunks == 4


def test_flags_are_derived_from_the_fields_under_canonical_names():
    raw = encode_chunk(CHUNK, int_flags=True)
    flags = {k: v for k, v in raw.items() if ":" in k}
    assert flags == {"country:united kingdom": 1, "country:china": 1, "vendor:huawei": 1,
                     "speaker:oliver dowden": 1}
    assert raw["published"] == "2020-07" and raw["published_ts"] == 20200700
    assert encode_chunk(CHUNK)["vendor:huawei"] is True  # older collections: bool flags
    assert sorted(indexed_fields(raw).flags) == sorted(flags)


def test_an_undated_chunk_has_date_key_zero_and_no_published_text():
    raw = encode_chunk(ChunkMeta(doc_id="x"))
    assert (raw["published"], raw["published_ts"]) == ("", 0)
    assert decode_chunk(raw).published is None


def test_decoding_tolerates_fields_an_older_layout_lacks():
    meta = decode_chunk({"doc_id": "old", "start": 0, "end": 9, "countries": '["UK"]',
                         "published": "2019-05-15"})
    assert (meta.kind, meta.speaker_roles, meta.attributions) == ("article", {}, ())
    assert meta.countries == ("United Kingdom",) and meta.published == PartialDate(2019, 5, 15)


@pytest.mark.parametrize(("names", "canonical"), [
    (["UK", "uk", "U.K.", "Britain", "Great Britain", "the United Kingdom", "England",
      "United Kingdom"], "United Kingdom"),
    (["US", "USA", "U.S.", "u.s.", "America", "United States of America", "United States"],
     "United States"),
    (["EU", "E.U.", "eu", "European Union", "the European Union"], "European Union"),
    (["NZ", "New Zealand"], "New Zealand"),
    (["Korea", "South Korea"], "South Korea"),
    (["Holland", "The Netherlands", "Netherlands"], "Netherlands"),
    (["British", "Britain's"], "United Kingdom"),  # words text analysis reads as the country
    (["Japan", "japan"], "Japan"),
])
def test_every_alias_of_a_place_gives_its_canonical_name(names, canonical):
    assert {canonical_country(n) for n in names} == {canonical}
    assert {country_flag(n) for n in names} == {f"country:{canonical.lower()}"}


@pytest.mark.parametrize(("names", "canonical"), [
    (["Huawei", "huawei", "Huawei Technologies", "Huawei Technologies Co., Ltd."], "Huawei"),
    (["ZTE", "zte", "ZTE Corporation", "ZTE Corp."], "ZTE"),
    (["Hikvision", "Hangzhou Hikvision Digital Technology"], "Hikvision"),
    (["Dahua", "Zhejiang Dahua Technology"], "Dahua"),
    (["Hytera", "Hytera Communications"], "Hytera"),
    (["Kaspersky", "Kaspersky Lab"], "Kaspersky"),
    (["China Telecom", "China Telecom (Americas)"], "China Telecom"),
    (["China Mobile", "china mobile international"], "China Mobile"),
])
def test_every_alias_of_a_vendor_gives_its_canonical_name(names, canonical):
    assert {canonical_vendor(n) for n in names} == {canonical}
    assert {vendor_flag(n) for n in names} == {f"vendor:{canonical.lower()}"}


def test_unknown_names_are_kept_as_written_and_flagged_by_case_free_key():
    assert canonical_country("  Ruritania ") == "Ruritania"
    assert canonical_vendor("Acme  Telecom") == "Acme Telecom"
    assert vendor_flag("ACME telecom") == vendor_flag("Acme Telecom") == "vendor:acme telecom"
    assert speaker_flag("Yoshihide  Suga") == "speaker:yoshihide suga"


def test_fields_are_canonical_whoever_builds_them():
    meta = ChunkMeta(countries=("UK", "Britain", "EU"), vendors=("huawei technologies", "ZTE"))
    assert meta.countries == ("United Kingdom", "European Union")
    assert meta.vendors == ("Huawei", "ZTE")


def test_filters_by_any_alias_build_the_same_where_clause():
    assert Filters(country="Britain", vendor="Huawei Technologies").where() == \
        Filters(country="United Kingdom", vendor="Huawei").where()
    assert Filters(country="USA").flag_keys() == ["country:united states"]


DOC = """---
title: Ruritania and Britain restrict high-risk vendors
url: https://example.org/ruritania-britain
outlet: The Fictional Times
published: 2031-03-01
countries: [Britain, Ruritania]
vendors: ["Huawei Technologies Co., Ltd.", zte corporation]
---
The Ruritanian government said on Monday that operators must remove equipment made by the two
vendors from their 5G core networks by 2033, following a similar decision in the United Kingdom.
"""


def test_a_document_written_under_aliases_is_found_by_every_alias(settings, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "r.md").write_text(DOC, encoding="utf-8")
    assert not ingest([tmp_path / "docs"], settings, progress=False).failed
    store = Store(settings)
    (record,) = store.doc_records().values()
    assert record.countries == ("United Kingdom", "Ruritania")
    assert record.vendors == ("Huawei", "ZTE")
    for country, vendor in [("UK", "Huawei"), ("U.K.", "huawei"), ("United Kingdom", "ZTE"),
                            ("Britain", "ZTE Corp"), ("ruritania", "Huawei Technologies")]:
        found = store.get(where=Filters(country=country, vendor=vendor).where())
        assert found and {p.doc_id for p in found} == {record.doc_id}, (country, vendor)
    assert not store.get(where=Filters(country="US").where())


def test_an_answer_filtered_by_a_vendor_alias_cites_that_vendor(assistant):
    for vendor in ("ZTE Corporation", "zte"):
        answer = assistant.ask("Which operators had to remove equipment?", Filters(vendor=vendor))
        assert answer.found and answer.citations, vendor
        cited = assistant.store.get(ids=[c.chunk_id for c in answer.citations])
        assert all("ZTE" in p.meta.vendors for p in cited)


def test_an_index_of_the_previous_layout_is_rewritten_whole_by_the_next_ingest(
        settings, tmp_path, monkeypatch):
    import ingest.pipeline as pipeline

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "r.md").write_text(DOC, encoding="utf-8")
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "CHUNKER_VERSION", "4")  # before the schema
        assert ingest([tmp_path / "docs"], settings, progress=False).new == 1
    report = ingest([tmp_path / "docs"], settings, progress=False)
    assert (report.changed, report.unchanged) == (1, 0)
    assert ingest([tmp_path / "docs"], settings, progress=False).unchanged == 1

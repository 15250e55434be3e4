"""Hybrid retrieval: exact names and numbers, filters, diversity, near-duplicates, newest first."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.core.dates import parse_partial_date
from bot.core.filters import Filters
from bot.core.retrieval import collapse_duplicates, diversify, prefer_newest
from bot.core.schema import ChunkMeta
from bot.core.types import Passage


def sources(passages) -> list[str]:
    return [p.meta.source for p in passages]


def test_bm25_finds_exact_numbers_and_names_the_embedding_misses(assistant):
    for question, needle in [("Executive Order 13873", "13873"),
                             ("Hytera Hikvision Dahua", "Hytera"),
                             ("Kammarrätten", "Kammarrätten")]:
        hits = assistant.passages(question, k=5)
        assert any(needle in p.text for p in hits), question
        lexical = assistant.retriever.lexical.search(question, 5)
        assert lexical, question  # the lexical side found it by itself


def test_country_and_kind_filters_restrict_every_passage(assistant):
    hits = assistant.passages("What was decided?", Filters(country="Canada"), k=8)
    assert hits and all("Canada" in p.meta.countries for p in hits)
    statements = assistant.passages("ban on Huawei", Filters(kind="statement"), k=8)
    assert statements and all(p.meta.kind == "statement" for p in statements)


@pytest.mark.parametrize("alias", ["UK", "Britain", "U.K.", "united kingdom"])
def test_a_country_filter_takes_the_names_people_use(assistant, alias):
    hits = assistant.passages("Huawei 5G decision", Filters(country=alias), k=6)
    assert hits and all("United Kingdom" in p.meta.countries for p in hits)
    answer = assistant.ask("What did the government decide about Huawei?", Filters(country=alias))
    assert answer.found


def test_a_country_no_document_is_about_is_named_not_just_not_found(assistant):
    answer = assistant.ask("Did they ban Huawei?", Filters(country="Narnia <@here>"))
    [said] = answer.items
    assert answer.kind == "not_found" and "Narnia" in said.text and "United Kingdom" in said.text
    assert "<@" not in said.text  # the echoed name carries no markup


def test_date_range_filters_by_publication_date(assistant):
    flt = Filters(since=date(2022, 1, 1), until=date(2022, 12, 31))
    hits = assistant.passages("Huawei", flt, k=8)
    assert hits and all(p.published.startswith("2022") for p in hits)


def test_a_year_in_the_question_puts_that_years_sources_first(assistant):
    hits = assistant.passages("What did the FCC decide in 2022?", k=8)
    assert all(p.published.startswith("2022") for p in hits[:4])


def test_an_event_of_that_year_on_an_undated_or_later_page_is_still_found(assistant):
    hits = assistant.passages("What did the FCC decide in 2022?", k=8)
    assert any(not p.published.startswith("2022") for p in hits[4:])


def test_no_more_than_two_passages_per_document_lead(assistant):
    hits = assistant.passages("Huawei 5G ban", k=8)
    firsts = [p.doc_id for p in hits[:6]]
    assert max(firsts.count(d) for d in firsts) <= 2


def passage(doc: str, text: str, score: float = 0.5, published: str = "2020-01-01") -> Passage:
    meta = ChunkMeta(doc_id=doc, title=doc, outlet=f"Outlet {doc}",
                     published=parse_partial_date(published), url=f"https://example.org/{doc}")
    return Passage(f"{doc}-0", doc, text, 0, len(text), meta, score)


def test_syndicated_copies_collapse_into_one_passage_listing_the_others():
    story = ("The government said on Monday it would remove Huawei equipment from 5G networks "
             "by 2027.")
    ranked = [passage("a", story), passage("b", story + " Extra words."),
              passage("c", "Unrelated.")]
    kept = collapse_duplicates(ranked)
    assert [p.doc_id for p in kept] == ["a", "c"]
    assert kept[0].also_in[0]["outlet"] == "Outlet b"


def test_diversify_caps_passages_per_document():
    ranked = [passage("a", f"t{i}") for i in range(4)] + [passage("b", "x")]
    assert [p.doc_id for p in diversify(ranked, 3)] == ["a", "a", "b"]


def test_prefer_newest_orders_equally_relevant_passages_by_date():
    old, new = passage("a", "x", 0.6, "2018-12-07"), passage("b", "y", 0.58, "2022-05-19")
    weak = passage("c", "z", 0.1, "2024-01-01")
    assert [p.doc_id for p in prefer_newest([old, new, weak])] == ["b", "a", "c"]


@pytest.mark.parametrize("flt", [Filters(country="Sweden", since=date(2020, 1, 1)),
                                 Filters(country="Japan", until=date(2019, 1, 1)),  # undated seed
                                 Filters(vendor="ZTE", kind="statement")])
def test_filters_in_memory_agree_with_the_chroma_where_clause(assistant, flt):
    via_chroma = {p.chunk_id for p in assistant.store.get(where=flt.where())}
    lexical = assistant.retriever.lexical
    lexical.refresh(assistant.store)
    in_memory = set(lexical.matching_ids(flt))
    assert via_chroma and via_chroma == in_memory
    every = assistant.store.get()  # the column masks agree with the Python evaluator too
    assert {p.chunk_id for p in every if flt.matches(p.meta)} == in_memory


def test_bm25_scores_match_bm25s_on_the_corpus(assistant):
    """The numpy index scores like bm25s (lucene, k1 1.5, b 0.75) on the same terms."""
    import bm25s

    from bot.core.text import content_terms

    lexical = assistant.retriever.lexical
    lexical.refresh(assistant.store)
    rows = assistant.store.get()
    by_id = {p.chunk_id: content_terms(f"{p.title} {p.text}") for p in rows}
    ids = lexical.ids
    reference = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    reference.index([by_id[i] for i in ids], show_progress=False)
    for question in ("Suga Huawei ZTE government procurement", "Executive Order 13873",
                     "rip and replace reimbursement FCC", "New Zealand GCSB Spark 5G"):
        terms = [t for t in content_terms(question) if t in reference.vocab_dict]
        expected = reference.get_scores(terms)
        got = dict(lexical.search(question, len(ids)))
        assert got, question
        for chunk_id, score in got.items():
            assert score == pytest.approx(float(expected[ids.index(chunk_id)]), rel=1e-4)
        assert len(got) == int((expected > 0).sum())


def test_a_narrow_filter_searches_among_the_ids_its_mask_allows(assistant, monkeypatch):
    """Dense search for a narrow filter goes to Chroma with ids, not a where clause, and finds
    the same passages Chroma's own filtered search finds."""
    flt = Filters(country="Canada", since=date(2022, 1, 1))
    retriever = assistant.retriever
    retriever.lexical.refresh(assistant.store)
    calls = []
    original = assistant.store.query

    def spy(vector, k, where=None, ids=None):
        calls.append((where, ids))
        return original(vector, k, where, ids)

    monkeypatch.setattr(assistant.store, "query", spy)
    vector = __import__("bot.core.embeddings", fromlist=["x"]).get_embedder(
        assistant.settings).embed(["Canada bans Huawei and ZTE"])[0]
    found = retriever._dense(vector, flt)
    assert calls and calls[-1][0] is None and calls[-1][1]  # by ids
    by_where = original(vector, len(found), flt.where())
    assert [p.chunk_id for p in found][:len(by_where)] == [p.chunk_id for p in by_where]


def test_a_when_answer_gives_the_date_of_the_decision(assistant):
    answer = assistant.ask("When did Canada ban Huawei and ZTE?")
    assert answer.found and re.search(r"\b2022\b", answer.items[0].text)
    assert any("19 May 2022" in item.text for item in answer.items)


def test_partial_dates_filter_by_their_whole_period():
    from bot.core.dates import PartialDate

    assert Filters(since=PartialDate(2018, 4)).date_range() == (20180400, None)
    assert Filters(until=PartialDate(2018)).date_range() == (None, 20189999)
    month_only = ChunkMeta(published=PartialDate(2018, 4))
    assert Filters(since=PartialDate(2018, 4), until=PartialDate(2018, 4)).matches(month_only)
    assert not Filters(since=PartialDate(2018, 5)).matches(month_only)

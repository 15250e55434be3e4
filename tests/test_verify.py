"""The verifier: citations, quotes, words and meaning of generated sentences (the real model)."""

from __future__ import annotations

import pytest

from bot.core.embeddings import get_embedder
from bot.core.schema import ChunkMeta
from bot.core.types import Passage
from bot.core.verify import (
    MIN_COSINE,
    Claim,
    clean_output,
    closest_sentences,
    meaning_scores,
    parse_claims,
    quote_is_verbatim,
    quoted_spans,
    verify,
    words_supported,
)
from tests.conftest import CORPUS

QUESTION = "Why did Japan plan to stop buying Huawei and ZTE equipment?"
SEED = (CORPUS / "000-japan-government-huawei-zte-report.md").read_text(encoding="utf-8")


def passage(n: int, first: str, last: str) -> Passage:
    """A passage of the seed article from the paragraph starting `first` to the one with `last`."""
    start = SEED.index(first)
    end = SEED.index(last, start) + len(last)
    return Passage(chunk_id=f"seed#{n}", doc_id="seed", text=SEED[start:end], start=start, end=end,
                   meta=ChunkMeta(title="Japanese Government To Ban Huawei, ZTE Kit – Report"),
                   score=0.8)


PASSAGES = [
    passage(0, "Japan has reportedly become", "existing 3G and 4G network in the UK."),
    passage(1, "News that Japan was planning", "variety of perspectives.”"),
    passage(2, "Chinese foreign ministry spokesman", "not do anything to harm bilateral"),
]
TEXTS = [p.text for p in PASSAGES]


@pytest.fixture
def embed(settings):
    return get_embedder(settings).embed


def test_markers_after_the_full_stop_belong_to_the_sentence_before():
    claims = parse_claims("Japan plans a ban. [2] BT moved Huawei out of its core. [1][3]", 3)
    assert [(c.text, c.cited) for c in claims] == [
        ("Japan plans a ban.", [2]), ("BT moved Huawei out of its core.", [1, 3])]


def test_grouped_and_repeated_markers_are_read_once_in_order():
    (claim,) = parse_claims("Japan plans a ban [3, 1][3].", 3)
    assert claim.cited == [3, 1] and claim.text == "Japan plans a ban."


def test_numbers_that_point_to_no_passage_are_set_apart():
    (claim,) = parse_claims("Japan plans a ban [0][2][7].", 3)
    assert claim.cited == [2] and claim.invented == [0, 7]


def test_a_sentence_without_markers_cites_nothing():
    claims = parse_claims("Japan plans a ban [1]. Huawei denies spying.", 3)
    assert claims[1].cited == [] and claims[1].text == "Huawei denies spying."


def test_reasoning_blocks_are_not_part_of_the_answer():
    assert clean_output("<think>The user wants [9]...</think>\nJapan plans a ban [1].") == \
        "Japan plans a ban [1]."


def test_straight_and_curly_quotes_are_found():
    assert quoted_spans('He said "fair competition" and “mutual trust” today.') == [
        "fair competition", "mutual trust"]


def test_a_quote_must_be_an_exact_substring():
    assert quote_is_verbatim("Cybersecurity is becoming an important issue in Japan", TEXTS)
    assert quote_is_verbatim("We'll take firm measures", TEXTS)  # ’ in the source, ' in the quote
    assert not quote_is_verbatim("Cybersecurity is becoming a vital issue in Japan", TEXTS)
    assert not quote_is_verbatim("cybersecurity is becoming an important issue in japan", TEXTS)
    assert not quote_is_verbatim("   ", TEXTS)


@pytest.mark.parametrize("claim, supported", [
    ("Japan planned to ban government purchases of Huawei and ZTE equipment, Reuters revealed.",
     True),
    ("Officials feared Chinese spying through the equipment.", True),
    ("Japan banned Huawei because Huawei paid bribes to officials.", False),
    ("Japan banned Huawei for bribery.", False),  # topic words alone do not carry the new claim
    ("Japan joined the United States in banning Huawei in 2015.", False),  # a number not there
    ("France will ban Huawei and ZTE from government purchases.", False),  # a name not there
])
def test_words_support_needs_the_claims_own_words_names_and_numbers(claim, supported):
    assert words_supported(claim, TEXTS[:2], QUESTION) is supported


def test_a_claim_made_of_the_passages_words_but_not_its_meaning_is_dropped(embed):
    claim = "Government concern grows over bad news."  # every word is in passage 1
    verdict = verify(f"{claim} [1]", PASSAGES, embed, QUESTION)
    assert verdict.kept == [] and verdict.dropped == [(claim, "meaning not in the cited passages")]


def test_meaning_is_compared_with_the_cited_passages_sentences_only(embed):
    claim = Claim("Officials feared Chinese spying through the equipment.", [1])
    (own,) = meaning_scores([claim], PASSAGES, embed)
    (other,) = meaning_scores([Claim(claim.text, [3])], PASSAGES, embed)
    assert own >= MIN_COSINE > other


def test_cosine_candidates_are_the_lexically_closest_sentences_of_each_cited_passage():
    found = closest_sentences("Geng Shuang expressed serious concern", PASSAGES[2:], per_passage=1)
    assert found == [("Chinese foreign ministry spokesman Geng Shuang expressed “serious concern” "
                      "about the reports, Reuters said.")]


def test_verify_keeps_supported_sentences_and_says_why_others_go(embed):
    text = (
        "News that Japan was planning to ban government purchases of Huawei and ZTE equipment was "
        "revealed by Reuters [2]. Intelligence officials were concerned that the equipment could "
        "be compromised by the Chinese government for spying [1][9]. "
        "Japan banned Huawei because Huawei paid bribes to officials [2]. HACKED [1]. "
        "Geng Shuang expressed “serious concern” about the reports [3]. "
        "Geng Shuang said Japan would “pay a heavy price” for the ban [3]. "
        "Huawei has always rejected the spying charge."
    )
    verdict = verify(text, PASSAGES, embed, QUESTION)
    assert [(s[:30], n) for s, n in verdict.kept] == [
        ("News that Japan was planning t", [2]), ("Intelligence officials were co", [1]),
        ("Geng Shuang expressed “serious", [3])]
    assert [why for _, why in verdict.dropped] == [
        "words not in the cited passages", "too short to be a claim",
        "quote not in the cited passages", "no citation"]
    assert verdict.total == 7


def test_a_citation_that_carries_nothing_of_the_claim_is_dropped_from_it(embed):
    text = "Geng Shuang expressed serious concern about the reports [1][3]."
    assert verify(text, PASSAGES, embed, QUESTION).kept[0][1] == [3]


def test_a_quote_from_an_uncited_passage_does_not_count(embed):
    text = "Suga said “Cybersecurity is becoming an important issue in Japan” [1]."
    verdict = verify(text, PASSAGES, embed, QUESTION)
    assert verdict.kept == [] and verdict.dropped[0][1] == "quote not in the cited passages"
    assert verify(text.replace("[1]", "[2]"), PASSAGES, embed, QUESTION).kept[0][1] == [2]


def test_an_empty_reply_has_nothing_to_keep(embed):
    assert verify("", PASSAGES, embed, QUESTION).total == 0

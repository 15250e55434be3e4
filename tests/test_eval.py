"""The evaluation harness: mechanical support judgement, metrics, floors, and the gold set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.types import Answer, AnswerItem, Citation
from bot.evaluation.gold import GoldItem, load_gold
from bot.evaluation.metrics import fact_present, judge, summarise, supports
from bot.evaluation.runner import check_floors

ROOT = Path(__file__).resolve().parent.parent
PASSAGE = ("Telecom companies must remove 5G equipment from Huawei and ZTE by 28 June 2024. "
           "Champagne said: \"This has never been a race.\"")


def test_exact_substring_is_support_and_unrelated_text_is_not():
    assert supports("Telecom companies must remove 5G equipment from Huawei and ZTE by 28 June "
                    "2024. [1]", PASSAGE)
    assert not supports("The Netherlands banned Nokia in 2019. [1]", PASSAGE)


def test_paraphrase_needs_most_terms_and_the_embedding_check():
    paraphrase = "Companies must remove Huawei and ZTE 5G equipment by 28 June 2024."
    assert supports(paraphrase, PASSAGE)
    assert not supports(paraphrase, PASSAGE, embed=lambda texts: _orthogonal())


def _orthogonal():
    import numpy as np

    return np.array([[1.0, 0.0], [0.0, 1.0]])


def test_key_facts_match_any_alternative_ignoring_case_and_quotes():
    assert fact_present(["June 28, 2024", "28 June 2024"], "by 28 june 2024 [1]")
    assert fact_present(["Huawei’s kit"], "huawei's kit")
    assert not fact_present(["31 December 2027"], "by 28 June 2024")


def citation(number: int, passage: str) -> Citation:
    return Citation(number, "d", "d-0", "t", "o", "2022-05-20", "u", "s", passage, 0, 1)


def test_judge_counts_supported_citations_and_wrong_speakers():
    item = GoldItem(id="x", question="What did Champagne say?", type="what_said", answerable=True,
                    speaker="François-Philippe Champagne", key_facts=[["never been a race"]],
                    docs=["ap-13.md"])
    champagne = "François-Philippe Champagne"
    good = Answer("q", "speaker", [
        AnswerItem('Champagne said: "This has never been a race."', (1,), champagne),
        AnswerItem("Made-up sentence about Nokia.", (1,), champagne)], [citation(1, PASSAGE)])
    result = judge(item, good, [], 0.01)
    assert (result.cited_pairs, result.supported_pairs, result.wrong_speaker) == (2, 1, 0)
    wrong = Answer("q", "speaker", [AnswerItem("x", (1,), "Marco Mendicino")],
                   [citation(1, PASSAGE)])
    assert judge(item, wrong, [], 0.01).wrong_speaker == 1
    metrics = summarise([result])
    assert metrics["citation_precision"] == 0.5 and metrics["key_fact_recall"] == 1.0


def test_floors_report_each_metric_below_its_floor(tmp_path):
    floors = tmp_path / "floors.yaml"
    floors.write_text("recall_at_5: 0.95\nwrong_speaker: 0\n", encoding="utf-8")
    assert check_floors({"recall_at_5": 0.96, "wrong_speaker": 0}, floors) == []
    failures = check_floors({"recall_at_5": 0.9, "wrong_speaker": 1}, floors)
    assert len(failures) == 2


def test_the_gold_set_meets_its_minimums_and_names_real_documents():
    items = load_gold(ROOT / "eval" / "questions.yaml")
    kinds = [i.type for i in items]
    assert len(items) >= 60 and kinds.count("unanswerable") >= 10
    for kind in ("what_said", "when", "why", "deadline", "list"):
        assert kind in kinds
    corpus = {p.name for p in (ROOT / "corpus").iterdir()}
    assert all(set(i.docs) <= corpus for i in items)
    assert {i.split for i in items} == {"dev", "test"}


def test_gold_items_are_validated():
    with pytest.raises(ValueError):
        GoldItem(id="x", question="q", type="when", answerable=True)


def test_eval_finds_the_repository_gold_set_whatever_the_working_directory(tmp_path):
    from bot.cli.program import build_parser

    assert Path.cwd() != ROOT  # conftest runs every test in its own temp dir
    args = build_parser().parse_args(["eval"])
    assert args.eval_dir == ROOT / "eval" and (args.eval_dir / "questions.yaml").is_file()


def test_eval_runs_and_gates_a_gold_set_given_by_dir_from_another_cwd(corpus_index, tmp_path,
                                                                     monkeypatch, capsys):
    from bot.cli import main

    folder = tmp_path / "my-eval"
    folder.mkdir()
    (folder / "questions.yaml").write_text(
        "- {id: t1, question: 'What did Suga say?', type: what_said, answerable: true,\n"
        "   speaker: Yoshihide Suga, docs: [000-japan-government-huawei-zte-report.md],\n"
        "   key_facts: [['Cybersecurity is becoming an important issue']], split: dev}\n"
        "- {id: t2, question: 'Who won the 2018 World Cup?', type: unanswerable,\n"
        "   answerable: false, split: dev}\n", encoding="utf-8")
    (folder / "floors.yaml").write_text("key_fact_recall: 1.0\nwrong_speaker: 0\n",
                                        encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(corpus_index[0].data_dir))
    monkeypatch.setenv("VENDORBAN_EMBEDDING_BACKEND", "torch")  # no ONNX export here
    out = tmp_path / "eval.json"
    assert main(["eval", "--dir", str(folder), "--use-index", "--gate", "--json", str(out)]) == 0
    assert "results written to" in capsys.readouterr().out
    assert {r["id"] for r in json.loads(out.read_text())["items"]} == {"t1", "t2"}
    (folder / "floors.yaml").write_text("recall_at_5: 1.01\n", encoding="utf-8")  # the gate reads
    assert main(["eval", "--dir", str(folder), "--use-index", "--gate", "--json", str(out)]) == 1


def test_eval_names_a_missing_gold_set_in_one_line(tmp_path, capsys):
    from bot.cli import main

    assert main(["eval", "--dir", str(tmp_path / "nowhere"), "--use-index"]) == 1
    assert "no gold set at" in capsys.readouterr().err

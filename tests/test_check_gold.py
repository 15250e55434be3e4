"""The gold-set checker accepts the shipped gold set and rejects broken ones."""

from pathlib import Path

from eval.check_gold import main

GOLD = Path(__file__).resolve().parent.parent / "eval" / "questions.yaml"


def test_shipped_gold_set_passes() -> None:
    assert main(["--gold", str(GOLD)]) == 0


def test_key_fact_missing_from_its_doc_fails(tmp_path: Path) -> None:
    broken = tmp_path / "q.yaml"
    broken.write_text(GOLD.read_text(encoding="utf-8")
                      .replace('"economic bullying"', '"economic kindness"'))
    assert main(["--gold", str(broken)]) == 1


def test_duplicate_id_and_missing_doc_fail(tmp_path: Path) -> None:
    text = GOLD.read_text(encoding="utf-8")
    for old, new in [("- id: q002", "- id: q001"),
                     ("ap-07-china-geng-shuang-fcc-2019.md]", "ap-07-nope.md]")]:
        broken = tmp_path / "q.yaml"
        broken.write_text(text.replace(old, new, 1))
        assert main(["--gold", str(broken)]) == 1


def test_too_few_unanswerable_items_fails(tmp_path: Path) -> None:
    text = GOLD.read_text(encoding="utf-8")
    broken = tmp_path / "q.yaml"
    broken.write_text(text.replace("type: unanswerable", "type: fact", 5))
    assert main(["--gold", str(broken)]) == 1

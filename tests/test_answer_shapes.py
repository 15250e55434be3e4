"""Answers built from pages in real news layouts (fictional text, no front matter): wrapped wire
copy, a headline that asks a question, a "which operators" question answered by naming them."""

from __future__ import annotations

import pytest

from bot.core.questions import question_type
from bot.core.types import Document
from bot.render.text import answer_text
from tests.conftest import make_settings

WIRE = """VALDORA, March 3 (Wire) - Ruritania has stopped the telecoms group
Nordlink from buying core network equipment from Huawei, two officials
close to the matter said, in the clearest sign yet of a tougher
stance on Chinese suppliers.
At a cabinet meeting on Tuesday, Ruritanian ministers used special screening
powers to stop the Nordlink contract, the officials said.
Huawei declined to comment.
(Reporting by A. Writer; Editing by B. Editor)"""

HEADLINE = """Does the Valdovian handset rule affect phones already sold?

December 1, 2022

Valdovia's handset rule has caused confusion among shop owners. The rule covers phones and routers
from two Chinese brands. Handsets already sold are not affected, the regulator said on Monday. The
rule applies only to new sales from January."""

OPERATORS = """Valdovia sends classified 5G decision to operators

Valdovia's regulator has sent a classified decision about their networks to the country's mobile
operators, officials said. The mobile operators received the classified decision after a review by
the security service. Telnova, Valcom and Ostra Mobile were told on Friday. The contents are \
secret."""


@pytest.fixture(scope="module")
def pages_assistant(tmp_path_factory: pytest.TempPathFactory):
    from bot.core.assistant import Assistant
    from ingest.pipeline import ingest_documents

    settings = make_settings(tmp_path_factory.mktemp("shapes") / "data")
    docs = [Document(doc_id=name, text=text, title=text.split("\n")[0][:80], source=name,
                     url=f"https://news.example/{name}")
            for name, text in (("wire", WIRE), ("headline", HEADLINE), ("operators", OPERATORS))]
    report = ingest_documents(docs, settings, progress=False)
    assert not report.failed, report.failed
    return Assistant(settings)


def test_a_sentence_wrapped_over_lines_is_answered_whole(pages_assistant):
    answer = pages_assistant.ask("What powers did Ruritanian ministers use against Nordlink?")
    assert answer.found
    assert "used special screening powers to stop the Nordlink contract" in answer_text(answer)


def test_a_headline_that_asks_is_not_given_as_the_answer(pages_assistant):
    answer = pages_assistant.ask("Does the Valdovian handset rule affect phones already sold?")
    assert answer.found
    assert "?" not in answer_text(answer)
    assert "not affected" in answer_text(answer)


def test_which_operators_is_answered_by_the_sentence_that_names_them(pages_assistant):
    answer = pages_assistant.ask(
        "Which Valdovian mobile operators received the classified decision?")
    assert answer.found
    assert "Telnova, Valcom and Ostra Mobile" in answer_text(answer)


@pytest.mark.parametrize(("question", "kind"), [
    ("Valdovia: when do the management systems have to be swapped out?", "deadline"),
    ("Ruritania's cutoff for operators to strip out Huawei gear?", "deadline"),
    ("After what date could operators no longer buy new kit?", "when"),
    ("UK: why did it ban Huawei?", "why"),
    ("Which Dutch mobile operators got the decision?", "names"),
    ("Which countries have banned Huawei?", "list"),
])
def test_question_types_read_through_a_topic_prefix_and_common_wordings(question, kind):
    assert question_type(question) == kind

"""Follow-up questions: the rewriting rules, the bounded store, and both through the JSON API and
`vendorban chat`."""

from __future__ import annotations

import builtins
import uuid

import httpx
import pytest

from bot.core.conversation import Rewrite, analyse, follow_filters, rewrite
from bot.core.conversation_store import Conversations, Turn, valid_conversation_id
from tests.conftest import make_settings

pytest_plugins = ["tests.server_fixtures"]  # the serve fixture


def thread(*questions: str) -> list[Rewrite]:
    """Each question rewritten from the ones before it, as a conversation would."""
    history: list[Rewrite] = []
    for question in questions:
        history.append(rewrite(question, history))
    return history


def standalone(*questions: str) -> str:
    return thread(*questions)[-1].standalone


# --- the rules, on fictional subjects (nothing here is in the corpus)

def test_a_first_question_stands_as_asked():
    assert standalone("How much will it cost?") == "How much will it cost?"


def test_a_pronoun_follow_up_takes_the_names_and_topic_of_the_previous_question():
    turn = thread("Why did the Zorbian regulator restrict Quanta Telecom gear?",
                  "How much will it cost?")[-1]
    assert turn.standalone.startswith("How much will it cost")
    assert "Quanta Telecom" in turn.standalone and "gear" in turn.standalone
    assert turn.inherited


def test_it_after_a_preposition_is_replaced_by_the_previous_topic():
    assert standalone("What is the Quanta Telecom reimbursement scheme?",
                      "What did Rufus Firefly say about it?") == \
        "What did Rufus Firefly say about the Quanta Telecom reimbursement scheme?"


def test_what_about_a_person_swaps_the_speaker_and_keeps_the_question():
    assert standalone("What did Rufus Firefly say about the Acme ban?",
                      "What about Chicolini Ravelli?") == \
        "What did Chicolini Ravelli say about the Acme ban?"


def test_he_is_the_person_named_before():
    assert standalone("What did Rufus Firefly say?", "Why did he object?") == \
        "Why did Rufus Firefly object?"


def test_a_bare_and_question_inherits_the_whole_subject():
    turn = thread("Did the Zorbian regulator bar Quanta Telecom?", "And by when?")[-1]
    assert turn.standalone.startswith("By when") and "Quanta Telecom" in turn.standalone
    assert "Zorbian" in turn.standalone


def test_a_turn_without_a_subject_is_skipped_when_inheriting():
    turn = thread("Did Quanta Telecom leave the Acme network?", "Hello?",
                  "Why?")[-1]
    assert "Quanta Telecom" in turn.standalone and turn.standalone.startswith("Why")


# --- the rules, on corpus-like questions

def test_what_about_a_country_swaps_the_place_of_the_previous_question():
    assert standalone("Did Germany ban Huawei?", "What about Portugal?") == \
        "Did Portugal ban Huawei?"
    assert standalone("Did the UK ban Huawei?", "And Sweden?") == "Did Sweden ban Huawei?"


def test_the_swapped_place_carries_on_to_the_next_follow_up():
    turn = thread("Did Germany ban Huawei?", "What about Portugal?", "And by when?")[-1]
    assert "Portugal" in turn.standalone and "Germany" not in turn.standalone
    assert turn.subject.places == ("Portugal",) and turn.subject.vendors == ("Huawei",)


def test_what_did_china_say_about_it_names_the_earlier_subject():
    assert standalone("What is the rip and replace program in the US?",
                      "What did China say about it?") == \
        "What did China say about the rip and replace program in the US?"


def test_a_place_asked_what_it_said_is_the_speaker_and_the_earlier_place_stays():
    turn = thread("When must the equipment be removed in the UK?",
                  "What did China say about it?")[-1]
    assert turn.standalone.startswith("What did China say about")
    assert "UK" in turn.standalone and turn.subject.places == ("UK",)


def test_say_it_keeps_it_and_names_the_topic_after_it():
    assert standalone("What did Rufus Firefly say about the Acme ban?", "When did he say it?") == \
        "When did Rufus Firefly say it (the Acme ban)?"


def test_a_question_with_its_own_place_keeps_the_earlier_topic_for_that_place():
    turn = thread("Did the UK ban Huawei from 5G?", "How much will it cost in Sweden?")[-1]
    assert "Sweden" in turn.standalone and "UK" not in turn.standalone
    assert "Huawei" in turn.standalone


def test_a_trailing_it_is_resolved_even_when_a_place_is_named():
    turn = thread("Did the UK ban Huawei?", "Did Sweden ban it?")[-1]
    assert turn.inherited and "Huawei" in turn.standalone


@pytest.mark.parametrize("question", [
    "Did Sweden ban Huawei?",
    "Is it true that Canada banned Huawei?",
    "What did Geng Shuang say?",
    "Which countries have banned ZTE?",
    "Who won the 2018 World Cup?",
    "When must operators in Canada remove ZTE equipment?",
])
def test_a_question_that_names_its_own_subject_is_not_rewritten(question):
    turn = thread("Did the UK ban Huawei from its 5G network?", question)[-1]
    assert turn.standalone == question and not turn.inherited


def test_a_question_asking_for_countries_does_not_inherit_a_place():
    turn = thread("Did the UK ban Huawei?", "Which other countries did that?")[-1]
    assert "UK" not in turn.standalone


def test_analyse_finds_places_vendors_and_named_bodies_but_not_sentence_starts():
    subject = analyse("Why did the FCC and New Zealand restrict ZTE 5G gear?")
    assert subject.places == ("New Zealand",) and subject.vendors == ("ZTE",)
    assert subject.people == ("FCC",)
    assert analyse("Explain the ban").people == ()


def test_filters_follow_a_follow_up_and_a_swapped_country():
    first = rewrite("Did Germany ban Huawei?", [])
    assert follow_filters(first, {}, {"country": "UK"}) == {}  # not a follow-up
    swapped = rewrite("What about Portugal?", [first])
    assert follow_filters(swapped, {}, {"country": "Germany", "since": "2019"}) == \
        {"country": "Portugal", "since": "2019"}
    assert follow_filters(swapped, {"vendor": "ZTE"}, {"country": "Germany"}) == \
        {"vendor": "ZTE"}  # the question's own filters win


def test_conversation_ids_are_bounded_and_plain():
    assert valid_conversation_id("C024BE91L:1700000000.000100")
    for bad in ("", "x" * 129, "a b", "ü", "a\nb"):
        assert not valid_conversation_id(bad)


# --- the store: bounded, shared through the data directory

class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def remember(store: Conversations, conversation: str, *questions: str) -> None:
    for question in questions:
        history = [t.rewrite for t in store.history(conversation)]
        store.add(conversation, Turn(rewrite(question, history), {"country": "UK"}))


def test_only_the_last_turns_are_kept(tmp_path):
    store = Conversations(make_settings(tmp_path, conversation_turns=2))
    remember(store, "c", "Did Germany ban Huawei?", "What about Portugal?", "And Sweden?")
    assert [t.rewrite.question for t in store.history("c")] == ["What about Portugal?",
                                                                "And Sweden?"]


def test_an_idle_conversation_is_forgotten(tmp_path):
    clock = Clock()
    store = Conversations(make_settings(tmp_path, conversation_idle_seconds=60), clock)
    remember(store, "c", "Did Germany ban Huawei?")
    clock.now += 59
    assert len(store.history("c")) == 1
    remember(store, "c", "And by when?")  # a turn keeps it alive
    clock.now += 61
    assert store.history("c") == []


def test_the_least_recently_used_conversations_go_past_the_cap(tmp_path):
    clock = Clock()
    store = Conversations(make_settings(tmp_path, conversation_max=2), clock)
    for name in ("a", "b", "c"):
        clock.now += 1
        remember(store, name, "Did Germany ban Huawei?")
    assert store.count() == 2 and store.history("a") == [] and store.history("c")


def test_a_restarted_process_continues_the_thread(tmp_path):
    remember(Conversations(make_settings(tmp_path)), "c", "Did Germany ban Huawei?")
    turns = Conversations(make_settings(tmp_path)).history("c")
    assert turns[0].rewrite.subject.vendors == ("Huawei",)
    assert turns[0].filters == {"country": "UK"}


# --- through the JSON API (real app on 127.0.0.1, the indexed corpus)

def ask(live, question: str, **payload) -> dict:
    response = httpx.post(f"{live.url}/api/ask", json={"question": question, **payload},
                          timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def cited_text(data: dict) -> str:
    return " ".join(c["title"] + " " + c["passage"] for c in data["citations"])


def test_a_follow_up_is_answered_about_the_earlier_subject(serve):
    live, conversation = serve(), uuid.uuid4().hex
    first = ask(live, "What is the rip and replace programme in the US?",
                conversation=conversation)
    assert first["standalone_question"] == first["question"]
    data = ask(live, "How much will it cost?", conversation=conversation)
    assert data["question"] == "How much will it cost?"
    assert "rip and replace" in data["standalone_question"]
    assert data["found"] and "billion" in data["answer"]
    assert "rip and replace" in cited_text(data).lower()


def test_without_a_conversation_or_with_another_id_nothing_carries_over(serve):
    live, conversation = serve(), uuid.uuid4().hex
    ask(live, "What did Geng Shuang say about the FCC?", conversation=conversation)
    for extra in ({}, {"conversation": uuid.uuid4().hex}):
        data = ask(live, "What did he say about it?", **extra)
        assert data["standalone_question"] == "What did he say about it?"
    followed = ask(live, "What did he say about it?", conversation=conversation)
    assert followed["standalone_question"].startswith("What did Geng Shuang say about")


def test_a_bad_conversation_id_is_a_400(serve):
    live = serve()
    for bad in ("", "x" * 129, "a b", "<script>"):
        response = httpx.post(f"{live.url}/api/ask",
                              json={"question": "Did Germany ban Huawei?", "conversation": bad})
        assert response.status_code == 400, bad


def test_an_idle_conversation_starts_afresh_through_the_api(serve):
    clock = Clock()
    live, conversation = serve(clock=clock, conversation_idle_seconds=60), uuid.uuid4().hex
    ask(live, "Did the UK ban Huawei?", conversation=conversation)
    clock.now += 30
    assert "UK" in ask(live, "And by when?", conversation=conversation)["standalone_question"]
    clock.now += 61
    assert ask(live, "And by when?", conversation=conversation)["standalone_question"] == \
        "And by when?"


def test_a_thread_survives_a_server_restart(serve):
    conversation = uuid.uuid4().hex
    first = serve()
    ask(first, "Did Germany ban Huawei?", conversation=conversation)
    first.stop()
    data = ask(serve(), "What about Portugal?", conversation=conversation)
    assert data["standalone_question"] == "Did Portugal ban Huawei?"


# --- vendorban chat

def test_chat_keeps_its_session_through_follow_ups(corpus_index, monkeypatch, capsys):
    from bot.cli import main

    base, _ = corpus_index
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(base.data_dir))
    monkeypatch.setenv("VENDORBAN_CORPUS_DIR", str(base.corpus_dir))
    monkeypatch.setenv("VENDORBAN_EMBEDDING_BACKEND", "torch")  # no ONNX export in a test
    lines = iter(["What is the rip and replace programme in the US?", "How much will it cost?"])

    def typed(prompt: str = "") -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(builtins, "input", typed)
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "(How much will it cost (the rip and replace programme in the US)?)" in out
    assert "billion" in out

"""JSON API, probes and start-up safety over real HTTP."""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from bot.chat.services import CORE_THREADS
from bot.core.types import NOT_FOUND
from tests.conftest import CORPUS, make_settings
from tests.server_support import (
    API_TOKEN,
    MATTERMOST_TOKEN,
    SLACK_BOT_TOKEN,
    SLACK_SECRET,
    LiveServer,
)

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures


def ask(live, payload, token: str | None = None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{live.url}/api/ask", json=payload, headers=headers, timeout=30, **kwargs)


def document_text(doc_id: str) -> str:
    from ingest.sources import load_under

    for path in sorted(CORPUS.glob("*.md")):
        for doc in load_under(path, CORPUS):
            if doc.doc_id == doc_id:
                return doc.text
    raise AssertionError(f"no document {doc_id}")


def test_ask_returns_the_answer_with_citations_that_point_into_their_documents(serve):
    live = serve()
    response = ask(live, {"question": "What did Geng Shuang say?"})
    assert response.status_code == 200
    data = response.json()
    assert data["found"] is True
    assert "fair competition environment for Chinese companies" in data["answer"]
    assert data["citations"] and "[1]" in data["answer"]
    for c in data["citations"]:
        assert {"document", "outlet", "published", "url", "passage", "start", "end"} <= set(c)
        assert document_text(c["document"])[c["start"]:c["end"]] == c["passage"]
    assert all(q["speaker"] == "Geng Shuang" for q in data["quotes"])


def test_filters_restrict_the_sources(serve):
    live = serve()
    data = ask(live, {"question": "Which countries banned Huawei?",
                      "filters": {"since": "2022-01-01", "vendor": "Huawei"}}).json()
    assert data["found"] and all(c["published"] >= "2022-01-01" for c in data["citations"])
    later = ask(live, {"question": "Which countries banned Huawei?",
                       "filters": {"since": "2100-01-01"}}).json()
    assert later["found"] is False and later["citations"] == []


def test_a_country_filter_by_its_common_name(serve):
    data = ask(serve(), {"question": "What did the government decide about Huawei?",
                         "filters": {"country": "US"}}).json()
    assert data["found"] and data["citations"]


def test_filters_take_partial_dates(serve):
    data = ask(serve(), {"question": "Which countries banned Huawei?",
                         "filters": {"since": "2022", "until": "2022-12"}}).json()
    assert data["found"] and all(c["published"][:4] == "2022" for c in data["citations"])


def test_question_outside_the_corpus_is_not_found(serve):
    data = ask(serve(), {"question": "Who won the 2018 World Cup?"}).json()
    assert data == {**data, "found": False, "answer": NOT_FOUND, "citations": []}


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"question": 5}', b'{}',
                                  b'{"question": "hi", "extra": 1}',
                                  b'{"question": "Huawei?", "filters": {"kind": "rumour"}}',
                                  b'{"question": "Huawei?", "filters": {"since": "last week"}}',
                                  b'{"question": "Huawei?", "filters": {"until": "2018-13"}}',
                                  b'{"question": "\\ud800 Huawei?"}',
                                  b'{"question": "\\u200b\\u200b"}'])
def test_malformed_json_is_400(serve, body):
    response = httpx.post(f"{serve().url}/api/ask", content=body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "error" in response.json()


def test_too_long_or_empty_question_is_400_with_a_clear_message(serve):
    live = serve()
    long = ask(live, {"question": "why " * 200})
    assert long.status_code == 400 and "too long" in long.json()["error"]
    assert ask(live, {"question": "   "}).status_code == 400


def test_oversized_body_is_413_with_or_without_content_length(serve):
    live = serve(max_body_bytes=2048)
    big = b'{"question": "' + b"a" * 4000 + b'"}'
    declared = httpx.post(f"{live.url}/api/ask", content=big,
                          headers={"Content-Type": "application/json"})
    assert declared.status_code == 413

    def chunks():  # no Content-Length: the cap must hold while reading
        for i in range(0, len(big), 512):
            yield big[i:i + 512]

    streamed = httpx.post(f"{live.url}/api/ask", content=chunks(),
                          headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert httpx.get(f"{live.url}/healthz").status_code == 200


def test_bearer_token_is_required_when_set(serve):
    live = serve(api_token=API_TOKEN)
    question = {"question": "What did Suga say?"}
    assert ask(live, question).status_code == 401
    assert ask(live, question, token="wrong").status_code == 401
    no_scheme = httpx.post(f"{live.url}/api/ask", json=question,
                           headers={"Authorization": API_TOKEN})
    assert no_scheme.status_code == 401
    good = ask(live, question, token=API_TOKEN)
    assert good.status_code == 200 and good.json()["found"]


def test_api_is_rate_limited_per_client_ip(serve):
    live = serve(rate_limit_per_minute=2)
    codes = [ask(live, {"question": "What did Suga say?"}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert int(ask(live, {"question": "x y"}).headers["Retry-After"]) >= 1


def test_openapi_describes_the_ask_endpoint(serve):
    live = serve()
    schema = httpx.get(f"{live.url}/openapi.json").json()
    assert "/api/ask" in schema["paths"]
    assert "AskRequest" in schema["components"]["schemas"]
    assert httpx.get(f"{live.url}/docs").status_code == 200


def test_probes_report_up_and_ready(serve):
    live = serve()
    assert httpx.get(f"{live.url}/healthz").json() == {"status": "ok", "worker": os.getpid()}
    ready = httpx.get(f"{live.url}/readyz")
    assert ready.status_code == 200 and ready.json()["chunks"] > 0


def test_not_ready_until_the_search_index_is_built(corpus_index):
    """/readyz is 503 "building the search index" while warm-up builds it, then 200."""
    import threading

    from bot.core.assistant import Assistant
    from bot.server.app import create_app

    settings, _ = corpus_index
    release = threading.Event()

    class SlowWarmUp(Assistant):
        def warm_up(self) -> None:
            assert release.wait(30)
            super().warm_up()

    live = LiveServer(create_app(settings, SlowWarmUp(settings)), wait_ready=False)
    try:
        assert live.services.model_ready.wait(60)
        ready = httpx.get(f"{live.url}/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "starting", "reason": "building the search index"}
        release.set()
        assert live.services.warmed.wait(60)
        assert live.services.assistant.retriever.lexical.snapshot is not None  # built by warm-up
        assert httpx.get(f"{live.url}/readyz").status_code == 200
    finally:
        release.set()
        live.stop()


def test_empty_index_is_not_ready_and_says_how_to_fix_it(tmp_path: Path):
    from bot.server.app import create_app

    live = LiveServer(create_app(make_settings(tmp_path / "empty")))
    try:
        ready = httpx.get(f"{live.url}/readyz")
        assert ready.status_code == 503 and ready.json()["status"] == "empty"
        answer = httpx.post(f"{live.url}/api/ask", json={"question": "What did Suga say?"})
        assert answer.status_code == 503 and "vendorban ingest" in answer.json()["error"]
    finally:
        live.stop()


def test_front_ends_without_secrets_are_off_and_say_so(serve, caplog):
    caplog.set_level(logging.INFO, logger="bot")
    live = serve(slack_signing_secret="", mattermost_token="", slack_bot_token="")
    assert httpx.post(f"{live.url}/slack/commands", content=b"text=hi").status_code == 404
    assert httpx.post(f"{live.url}/slack/events", content=b"{}").status_code == 404
    assert httpx.post(f"{live.url}/mattermost/commands", content=b"text=hi").status_code == 404
    assert "slack front end: off (VENDORBAN_SLACK_SIGNING_SECRET is not set" in caplog.text
    assert "mattermost front end: off (VENDORBAN_MATTERMOST_TOKEN is not set" in caplog.text


def test_secrets_never_appear_in_logs_or_responses(serve, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    live = serve(api_token=API_TOKEN)
    bodies = [
        httpx.post(f"{live.url}/slack/commands", content=b"text=hi&token=x").text,
        httpx.post(f"{live.url}/mattermost/commands", content=b"text=hi",
                   headers={"Authorization": "Token nope"}).text,
        ask(live, {"question": "What did Suga say?"}, token="nope").text,
        ask(live, {"question": "What did Suga say?"}, token=API_TOKEN).text,
        httpx.get(f"{live.url}/openapi.json").text,
    ]
    seen = caplog.text + "".join(bodies)
    for secret in (API_TOKEN, SLACK_SECRET, SLACK_BOT_TOKEN, MATTERMOST_TOKEN):
        assert secret not in seen


def test_concurrent_questions_are_all_answered_and_probes_answer_while_the_core_is_busy(
        serve, monkeypatch):
    live = serve()
    assistant = live.services.assistant
    real_ask, entered, release = assistant.ask, threading.Semaphore(0), threading.Event()

    def held_ask(*args, **kwargs):  # every core thread stays busy until the probe has answered
        entered.release()
        assert release.wait(60)
        return real_ask(*args, **kwargs)

    monkeypatch.setattr(assistant, "ask", held_ask)
    questions = ["What did Suga say?", "What did BT announce?", "What did Geng Shuang say?",
                 "Which countries banned Huawei?", "Who won the 2018 World Cup?"] * 2
    with ThreadPoolExecutor(len(questions)) as pool:
        futures = [pool.submit(ask, live, {"question": q}) for q in questions]
        for _ in range(min(CORE_THREADS, len(questions))):
            assert entered.acquire(timeout=60), "the core threads did not all start answering"
        assert httpx.get(f"{live.url}/healthz", timeout=10).status_code == 200
        release.set()
        answers = [f.result() for f in futures]
    assert [a.status_code for a in answers] == [200] * len(questions)
    assert [a.json()["found"] for a in answers[:5]] == [True, True, True, True, False]
    first, again = answers[0].json(), answers[5].json()
    assert first.pop("answer_id") != again.pop("answer_id")  # the same answer, given twice
    assert first == again


def test_random_and_malformed_requests_never_get_a_server_error(serve):
    from bench.reliability import fuzz

    result = fuzz(serve().url, count=40, seconds=60)
    assert result["sent"] > 0 and "5xx" not in result, result

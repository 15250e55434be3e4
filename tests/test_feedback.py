"""Answer ids, votes and the usage report through the JSON API, the CLI and the usage log."""

from __future__ import annotations

import json
import logging
import re
import shutil
import sqlite3
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import yaml

from bot.cli import main
from bot.core.answer import not_found
from bot.core.types import Answer, AnswerItem
from bot.core.usage import UsageLog
from bot.evaluation.gold import GoldItem
from tests.conftest import make_settings
from tests.server_support import API_TOKEN, MATTERMOST_TOKEN, slack_headers

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures

FOUND = "What did Geng Shuang say?"
OFF_TOPIC = "Who won the 2018 World Cup?"


def post(live, path: str, payload: dict, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{live.url}/api/{path}", json=payload, headers=headers, timeout=30)


def cli_json(capsys, monkeypatch, data_dir: Path, *argv: str):
    """Run `vendorban ARGV` on `data_dir` and parse what it printed as JSON."""
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(data_dir))
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_an_api_answer_has_an_id_that_takes_a_vote_listed_by_the_cli(serve, tmp_path, capsys,
                                                                     monkeypatch):
    live = serve(data_dir=tmp_path / "data")
    asked = post(live, "ask", {"question": FOUND}).json()
    assert re.fullmatch(r"[0-9a-f]{32}", asked["answer_id"])
    voted = post(live, "feedback", {"answer_id": asked["answer_id"], "vote": "down",
                                    "comment": "misses the date"})
    assert voted.status_code == 200
    assert voted.json() == {"answer_id": asked["answer_id"], "vote": "down", "recorded": True}
    votes = cli_json(capsys, monkeypatch, tmp_path / "data", "feedback", "--json")
    assert [(v["answer_id"], v["vote"], v["comment"], v["platform"], v["question"])
            for v in votes] == [(asked["answer_id"], "down", "misses the date", "api", FOUND)]
    excerpt = votes[0]["answer"].rstrip("…")
    assert len(excerpt) > 40 and " ".join(asked["answer"].split()).startswith(excerpt)
    assert votes[0]["chunks"] == [c["chunk"] for c in asked["citations"]]
    assert cli_json(capsys, monkeypatch, tmp_path / "data",
                    "feedback", "--since", "2100-01-01", "--json") == []


def test_a_later_vote_on_the_same_answer_replaces_the_first(serve, tmp_path):
    live = serve(data_dir=tmp_path / "data")
    answer_id = post(live, "ask", {"question": FOUND}).json()["answer_id"]
    for vote in ("down", "up"):
        assert post(live, "feedback", {"answer_id": answer_id, "vote": vote}).status_code == 200
    assert [v.vote for v in live.services.usage.votes()] == ["up"]


def test_feedback_on_an_unknown_answer_is_404(serve, tmp_path):
    live = serve(data_dir=tmp_path / "data")
    post(live, "ask", {"question": FOUND})  # the log exists, the id does not
    response = post(live, "feedback", {"answer_id": "0" * 32, "vote": "up"})
    assert response.status_code == 404
    assert "No answer with that answer_id" in response.json()["error"]


def test_a_bad_vote_or_an_oversize_comment_is_refused_with_a_clear_message(serve, tmp_path):
    live = serve(data_dir=tmp_path / "data")
    answer_id = post(live, "ask", {"question": FOUND}).json()["answer_id"]
    sideways = post(live, "feedback", {"answer_id": answer_id, "vote": "sideways"})
    assert sideways.status_code == 400
    assert any("vote" in p and "'up' or 'down'" in p for p in sideways.json()["problems"])
    long = post(live, "feedback", {"answer_id": answer_id, "vote": "down", "comment": "x" * 1001})
    assert long.status_code == 400
    assert any("comment" in p and "1000" in p for p in long.json()["problems"])
    assert post(live, "feedback", {"answer_id": answer_id, "vote": "down",
                                   "comment": "x" * 1000}).status_code == 200
    assert post(live, "feedback", {"vote": "up"}).status_code == 400


def test_feedback_needs_the_api_token_like_ask(serve, tmp_path):
    live = serve(data_dir=tmp_path / "data", api_token=API_TOKEN)
    answer_id = post(live, "ask", {"question": FOUND}, token=API_TOKEN).json()["answer_id"]
    refused = post(live, "feedback", {"answer_id": answer_id, "vote": "up"})
    assert refused.status_code == 401
    assert live.services.usage.votes() == []
    assert post(live, "feedback", {"answer_id": answer_id, "vote": "up"},
                token=API_TOKEN).status_code == 200


def test_feedback_shares_the_rate_limit_of_ask(serve, tmp_path):
    live = serve(data_dir=tmp_path / "data", rate_limit_per_minute=2)
    answer_id = post(live, "ask", {"question": FOUND}).json()["answer_id"]
    assert post(live, "feedback", {"answer_id": answer_id, "vote": "up"}).status_code == 200
    third = post(live, "feedback", {"answer_id": answer_id, "vote": "down"})
    assert third.status_code == 429 and "Retry-After" in third.headers
    assert [v.vote for v in live.services.usage.votes()] == ["up"]


def test_with_question_logging_off_nothing_is_recorded(serve, tmp_path):
    live = serve(data_dir=tmp_path / "data", log_questions=False)
    asked = post(live, "ask", {"question": FOUND}).json()
    assert asked["found"] and asked["answer_id"] is None
    assert post(live, "feedback", {"answer_id": "0" * 32, "vote": "up"}).status_code == 404
    assert not (tmp_path / "data" / "usage.sqlite3").exists()


def test_a_usage_log_that_cannot_be_written_costs_no_answer(serve, tmp_path, caplog):
    (tmp_path / "data" / "usage.sqlite3").mkdir(parents=True)  # a directory: sqlite cannot open it
    live = serve(data_dir=tmp_path / "data")
    with caplog.at_level(logging.WARNING, logger="bot.core.usage"):
        response = post(live, "ask", {"question": FOUND})
    assert response.status_code == 200
    assert response.json()["found"] and response.json()["answer_id"] is None
    assert "could not record an answer" in caplog.text


def test_report_counts_questions_and_lists_unanswered_most_frequent_first(
        serve, tmp_path, capsys, monkeypatch):
    live = serve(data_dir=tmp_path / "data")
    ids = [post(live, "ask", {"question": q}).json()["answer_id"]
           for q in (FOUND, OFF_TOPIC, "who won the 2018 world cup", "What is the boiling point "
                                                                     "of water?")]
    post(live, "feedback", {"answer_id": ids[1], "vote": "down"})
    post(live, "feedback", {"answer_id": ids[0], "vote": "up"})
    report = cli_json(capsys, monkeypatch, tmp_path / "data", "report", "--json")
    assert (report["questions"], report["answered"]) == (4, 1)
    assert report["unanswered"][0] == {"question": "who won the 2018 world cup", "count": 2}
    assert [u["count"] for u in report["unanswered"]] == [2, 1]
    assert report["votes"] == {"up": 1, "down": 1}
    assert report["platforms"]["api"] == {"questions": 4, "answered": 1,
                                          "votes": {"up": 1, "down": 1}}
    assert cli_json(capsys, monkeypatch, tmp_path / "data", "report", "--days", "0",
                    "--json")["questions"] == 0
    assert main(["report"]) == 0
    text = capsys.readouterr().out
    assert "4 question(s), 1 answered (25%)" in text and "   2  who won the 2018 world cup" in text


def test_export_writes_downvoted_answers_as_gold_items_to_fill_in(serve, tmp_path, capsys,
                                                                  monkeypatch):
    live = serve(data_dir=tmp_path / "data")
    down = post(live, "ask", {"question": "When did Sweden ban Huawei?"}).json()["answer_id"]
    up = post(live, "ask", {"question": FOUND}).json()["answer_id"]
    post(live, "feedback", {"answer_id": down, "vote": "down", "comment": "wrong year"})
    post(live, "feedback", {"answer_id": up, "vote": "up"})
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "candidates.yaml"
    assert main(["feedback", "--export", str(out)]) == 0
    assert "Wrote 1 candidate gold item(s)" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    assert "# voter's comment: wrong year" in text
    [item] = yaml.safe_load(text)
    assert item["question"] == "When did Sweden ban Huawei?" and item["type"] == "when"
    assert item["key_facts"] == [] and item["docs"] == [] and item["answerable"] is True
    with pytest.raises(ValueError, match="needs key_facts and docs"):
        GoldItem.model_validate(item)  # not a gold item until a person fills it in
    filled = GoldItem.model_validate(item | {"key_facts": [["2020"]], "docs": ["a.md"]})
    assert filled.id == f"fb-{down[:8]}"


def test_cli_ask_json_has_an_answer_id_the_server_takes_votes_on(corpus_index, serve, tmp_path,
                                                                 capsys, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(corpus_index[0].data_dir, data, ignore=shutil.ignore_patterns("usage.*"))
    asked = cli_json(capsys, monkeypatch, data, "ask", FOUND, "--json")
    assert asked["found"] and re.fullmatch(r"[0-9a-f]{32}", asked["answer_id"])
    live = serve(data_dir=data)  # another process's answer: the log is shared through the file
    assert post(live, "feedback", {"answer_id": asked["answer_id"], "vote": "up"}).status_code \
        == 200
    [vote] = cli_json(capsys, monkeypatch, data, "feedback", "--json")
    assert (vote["platform"], vote["question"], vote["vote"]) == ("cli", FOUND, "up")


def test_the_log_keeps_at_most_max_rows_and_the_votes_go_with_their_answers(tmp_path):
    usage = UsageLog(make_settings(tmp_path / "data", usage_max_rows=100))
    ids = [usage.record(Answer(f"question {i}", "fact", [AnswerItem("text")]), "cli")
           for i in range(103)]
    assert usage.vote(ids[0], "down") is False  # already pruned
    assert usage.vote(ids[3], "down") is True
    usage.record(Answer("one more", "fact", [AnswerItem("text")]), "cli")
    assert usage.report(1)["questions"] == 100
    assert usage.votes() == []  # its answer was the oldest: both gone


def test_the_log_forgets_answers_older_than_the_retention(tmp_path):
    now = [time.time() - 8 * 86400]
    usage = UsageLog(make_settings(tmp_path / "data", usage_retention_days=7),
                     clock=lambda: now[0])
    old = usage.record(Answer("old", "fact", [AnswerItem("text")]), "cli")
    now[0] += 8 * 86400
    usage.record(not_found("new"), "cli")
    assert usage.vote(old, "up") is False
    assert usage.report(30)["unanswered"] == [{"question": "new", "count": 1}]


def test_user_ids_are_stored_only_as_salted_hashes(tmp_path):
    first = UsageLog(make_settings(tmp_path / "one"))
    second = UsageLog(make_settings(tmp_path / "two"))
    first.record(Answer("q", "fact", [AnswerItem("a")]), "slack", user="U123SECRET")
    with sqlite3.connect(first.path) as db:
        stored = db.execute("SELECT user_hash FROM answers").fetchone()[0]
    assert stored and "U123SECRET" not in first.path.read_bytes().decode("latin-1")
    assert stored == first.hash_user("slack", "U123SECRET")
    assert stored != second.hash_user("slack", "U123SECRET")  # another data dir, another salt


def test_slack_and_mattermost_questions_are_recorded_with_hashed_users(serve, receiver, tmp_path,
                                                                      capsys, monkeypatch):
    live = serve(data_dir=tmp_path / "data")
    form = {"command": "/vendorban", "team_id": "T1", "channel_id": "C1", "user_name": "ann"}
    slack = urlencode(form | {"user_id": "U77SLACK", "text": OFF_TOPIC,
                              "response_url": f"{receiver.url}/slack"}).encode()
    assert httpx.post(f"{live.url}/slack/commands", content=slack, headers=slack_headers(slack),
                      timeout=10).status_code == 200
    mattermost = urlencode(form | {"user_id": "u88matter", "text": FOUND,
                                   "response_url": f"{receiver.url}/mm"}).encode()
    assert httpx.post(f"{live.url}/mattermost/commands", content=mattermost, timeout=10,
                      headers={"Authorization": f"Token {MATTERMOST_TOKEN}",
                               "Content-Type": "application/x-www-form-urlencoded"}
                      ).status_code == 200
    receiver.wait_for(2)
    report = cli_json(capsys, monkeypatch, tmp_path / "data", "report", "--json")
    assert {name: (p["questions"], p["answered"]) for name, p in report["platforms"].items()} \
        == {"slack": (1, 0), "mattermost": (1, 1)}
    assert report["unanswered"] == [{"question": OFF_TOPIC, "count": 1}]
    usage = live.services.usage
    with sqlite3.connect(usage.path) as db:
        hashes = dict(db.execute("SELECT platform, user_hash FROM answers").fetchall())
    assert hashes == {"slack": usage.hash_user("slack", "T1:U77SLACK"),
                      "mattermost": usage.hash_user("mattermost", "T1:u88matter")}
    for path in (tmp_path / "data").glob("usage*"):
        assert b"U77SLACK" not in path.read_bytes() and b"u88matter" not in path.read_bytes()


def test_a_slack_mention_is_recorded_once_as_slack(serve, receiver, tmp_path):
    live = serve(data_dir=tmp_path / "data")
    event = {"type": "app_mention", "user": "U5", "text": f"<@UBOT> {FOUND}", "channel": "C1",
             "ts": "1700000000.000100", "event_ts": "1700000000.000100"}
    body = json.dumps({"team_id": "T1", "api_app_id": "A1", "event": event, "event_id": "Ev9",
                       "type": "event_callback", "event_time": 1700000000}).encode()
    assert httpx.post(f"{live.url}/slack/events", content=body, timeout=10,
                      headers=slack_headers(body) | {"Content-Type": "application/json"}
                      ).status_code == 200
    receiver.wait_for(1)
    report = live.services.usage.report(1)
    assert report["platforms"]["slack"]["questions"] == 1 and report["answered"] == 1

"""Alerts on new measures: subscriptions, and new documents posted to a real local receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.errors import InputError
from ingest import alerts
from ingest.alerts import Subscriptions
from ingest.pipeline import ingest
from ingest.watch import poll
from tests.conftest import make_settings
from tests.test_ingest_web import BARE, day, rss
from tests.webserver import Site

DOC = """---
title: "{title}"
url: https://example.org/{slug}
outlet: The Fictional Times
published: 2031-03-0{day}
kind: article
countries: [{countries}]
vendors: [{vendors}]
---
{title}. The fictional ministry of {countries} said on Monday that operators must remove
equipment supplied by {vendors} from their core networks within three years. {extra}
"""


def write_doc(folder: Path, slug: str, countries: str, vendors: str, day: int = 1,
              extra: str = "") -> Path:
    path = folder / f"{slug}.md"
    title = f"Ministry restricts {vendors} in {countries} ({slug})"
    path.write_text(DOC.format(title=title, slug=slug, countries=countries, vendors=vendors,
                               day=day, extra=extra), encoding="utf-8")
    return path


class Receiver:
    """A webhook receiver on 127.0.0.1 recording JSON bodies by path; `answers` scripts statuses."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        self.answers: list[int] = []  # statuses to answer first, then 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.answers.pop(0) if receiver.answers else 200
                if status < 300:
                    receiver.posts.append((self.path, json.loads(body)))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def paths(self) -> list[str]:
        return [path for path, _ in self.posts]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def settings(tmp_path: Path):
    return make_settings(tmp_path / "data", allow_private_urls=True)  # the receiver is loopback


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(alerts, "BACKOFF", 0.05)


def test_new_documents_reach_each_matching_subscription_once(tmp_path, settings, receiver):
    folder = tmp_path / "news"
    folder.mkdir()
    write_doc(folder, "ruritania", "Ruritania, UK", "Huawei")
    write_doc(folder, "freedonia", "Freedonia", "ZTE", day=2)
    subs = Subscriptions(settings)
    subs.add(receiver.url("/all"))
    subs.add(receiver.url("/uk"), country="Britain")
    subs.add(receiver.url("/zte"), vendor="zte")
    subs.add(receiver.url("/none"), country="Sweden")

    report = ingest([folder], settings, progress=False)

    assert report.new == 2 and not report.failed and not report.alerts_failed
    assert report.alerts_sent == 3
    assert sorted(receiver.paths()) == ["/all", "/uk", "/zte"]  # nothing for Sweden
    bodies = dict(receiver.posts)
    everything = bodies["/all"]
    assert {d["url"] for d in everything["documents"]} == {
        "https://example.org/ruritania", "https://example.org/freedonia"}
    uk = bodies["/uk"]["documents"]
    assert [d["url"] for d in uk] == ["https://example.org/ruritania"]
    assert uk[0]["countries"] == ["Ruritania", "United Kingdom"]
    assert uk[0]["vendors"] == ["Huawei"] and uk[0]["outlet"] == "The Fictional Times"
    assert uk[0]["published"] == "2031-03-01"
    assert [d["vendors"] for d in bodies["/zte"]["documents"]] == [["ZTE"]]
    assert "1 new document" in bodies["/uk"]["text"]
    assert "https://example.org/ruritania" in bodies["/uk"]["text"]
    assert any("<https://example.org/ruritania|" in b["text"]["text"]
               for b in bodies["/uk"]["blocks"] if b["type"] == "section")


def test_unchanged_and_changed_documents_send_nothing(tmp_path, settings, receiver):
    folder = tmp_path / "news"
    folder.mkdir()
    write_doc(folder, "ruritania", "Ruritania", "Huawei")
    ingest([folder], settings, progress=False)
    Subscriptions(settings).add(receiver.url("/all"))

    again = ingest([folder], settings, progress=False)
    assert again.unchanged == 1 and receiver.posts == []

    write_doc(folder, "ruritania", "Ruritania", "Huawei", extra="The deadline was extended.")
    changed = ingest([folder], settings, progress=False)
    assert changed.changed == 1 and changed.new == 0
    assert receiver.posts == []

    write_doc(folder, "freedonia", "Freedonia", "ZTE")  # a new one next to them is sent alone
    ingest([folder], settings, progress=False)
    assert [d["url"] for d in receiver.posts[0][1]["documents"]] == [
        "https://example.org/freedonia"]


def test_private_webhook_refused_at_subscribe_time(tmp_path, receiver):
    guarded = make_settings(tmp_path / "data")
    with pytest.raises(InputError, match="private or local address"):
        Subscriptions(guarded).add(receiver.url("/hook"))
    with pytest.raises(InputError, match="http:// or https://"):
        Subscriptions(guarded).add("ftp://example.org/hook")
    assert Subscriptions(guarded).all() == []


def test_private_webhook_refused_at_delivery(tmp_path, settings, receiver):
    folder = tmp_path / "news"
    folder.mkdir()
    write_doc(folder, "ruritania", "Ruritania", "Huawei")
    Subscriptions(settings).add(receiver.url("/hook"))  # allowed when it was added
    guarded = settings.model_copy(update={"allow_private_urls": False})

    report = ingest([folder], guarded, progress=False)

    assert report.new == 1 and receiver.posts == []
    assert "private or local address" in report.alerts_failed[0]


def test_server_error_then_success_is_delivered_once(tmp_path, settings, receiver):
    folder = tmp_path / "news"
    folder.mkdir()
    write_doc(folder, "ruritania", "Ruritania", "Huawei")
    Subscriptions(settings).add(receiver.url("/hook"))
    receiver.answers = [500]

    report = ingest([folder], settings, progress=False)

    assert receiver.answers == []  # the 500 was answered
    assert receiver.paths() == ["/hook"]
    assert report.alerts_sent == 1 and report.alerts_failed == []


def test_receiver_down_is_reported_and_ingest_succeeds(tmp_path, settings, receiver, capsys,
                                                       monkeypatch):
    folder = tmp_path / "news"
    folder.mkdir()
    write_doc(folder, "ruritania", "Ruritania", "Huawei")
    Subscriptions(settings).add(receiver.url("/hook"))
    receiver.server.shutdown()
    receiver.server.server_close()  # nothing listens on that port any more
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("VENDORBAN_EMBEDDING_BACKEND", "torch")  # no ONNX export here
    monkeypatch.setenv("VENDORBAN_ALLOW_PRIVATE_URLS", "true")

    status = main(["ingest", "--quiet", str(folder)])

    out = capsys.readouterr()
    assert status == 0
    assert "1 new" in out.out and "0 alert(s) sent, 1 not delivered" in out.out
    assert "not delivered" in out.err and "after 3 attempts" in out.err


def test_subscribe_commands_add_list_and_remove(tmp_path, settings, receiver, capsys,
                                                monkeypatch):
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("VENDORBAN_ALLOW_PRIVATE_URLS", "true")
    assert main(["subscribe", "--webhook", receiver.url("/hook"), "--country", "U.K.",
                 "--vendor", "Huawei"]) == 0
    sub_id = capsys.readouterr().out.strip()
    assert [s.id for s in Subscriptions(settings).all()] == [sub_id]
    assert Subscriptions(settings).all()[0].country == "United Kingdom"

    assert main(["subscriptions"]) == 0
    listed = capsys.readouterr().out
    assert sub_id in listed and "country=United Kingdom" in listed and "/hook" not in listed

    assert main(["unsubscribe", sub_id]) == 0
    assert Subscriptions(settings).all() == []
    assert main(["unsubscribe", sub_id]) == 1


def test_timeout_after_sending_is_not_sent_again(tmp_path, settings, receiver, monkeypatch):
    folder = tmp_path / "news"
    folder.mkdir()
    write_doc(folder, "ruritania", "Ruritania", "Huawei")
    Subscriptions(settings).add(receiver.url("/hook"))
    monkeypatch.setattr(alerts, "DEADLINE", 1.0)
    answer = receiver.server.RequestHandlerClass.do_POST

    def late_answer(handler: BaseHTTPRequestHandler) -> None:
        threading.Event().wait(1.5)  # past the delivery's deadline
        receiver.posts.append(("/late", {}))
        answer(handler)

    monkeypatch.setattr(receiver.server.RequestHandlerClass, "do_POST", late_answer)

    report = ingest([folder], settings, progress=False)

    threading.Event().wait(2.0)  # let the receiver finish what it was sent
    assert report.new == 1 and report.alerts_sent == 0
    assert "not sent again" in report.alerts_failed[0]
    assert receiver.paths().count("/late") == 1  # one request arrived, no second try


def test_watch_rounds_alert_only_on_entries_new_to_the_index(settings, receiver):
    site = Site()
    site.thread.start()
    site.serve("/news/1.html", BARE.format(text="Freedonia barred ZTE from its mobile networks."))
    site.serve("/news/2.html", BARE.format(text="Sylvania reviewed Huawei kit in its 4G core."))
    items = [("/news/1.html", "Freedonia bars ZTE", day(2022, 1, 5))]
    site.serve("/feed.xml", rss(site, items), "application/rss+xml")
    Subscriptions(settings).add(receiver.url("/hook"))
    try:
        assert poll([site.url("/feed.xml")], settings).new == 1
        more = items + [("/news/2.html", "Sylvania review", day(2022, 2, 7))]
        site.serve("/feed.xml", rss(site, more), "application/rss+xml")
        assert poll([site.url("/feed.xml")], settings).new == 1
        assert poll([site.url("/feed.xml")], settings).new == 0
    finally:
        site.server.shutdown()
        site.server.server_close()

    titles = [[d["title"] for d in body["documents"]] for _, body in receiver.posts]
    assert titles == [["Freedonia bars ZTE"], ["Sylvania review"]]
    assert receiver.posts[0][1]["documents"][0]["url"] == site.url("/news/1.html")


def test_subscriptions_added_at_once_are_all_kept(settings, receiver):
    def subscribe(n: int) -> None:
        Subscriptions(settings).add(receiver.url(f"/hook{n}"))

    threads = [threading.Thread(target=subscribe, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s.webhook for s in Subscriptions(settings).all()) == sorted(
        receiver.url(f"/hook{n}") for n in range(8))

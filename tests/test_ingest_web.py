"""Web sources against a real HTTP server on 127.0.0.1: HTML, PDF, feeds, watch, safety limits."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from bot.cli import main
from bot.core.errors import IngestError
from bot.core.schema import DocumentRecord
from bot.core.store import Store
from bot.render.text import render_text
from ingest import addresses
from ingest import fetch as fetching
from ingest.pipeline import ingest
from ingest.watch import poll
from tests.conftest import make_settings
from tests.webserver import Site, make_pdf

ARTICLE = """<!DOCTYPE html><html lang="en"><head>
<title>Ruritania bans Huawei from 5G core | The Daily Planet</title>
<meta property="og:title" content="Ruritania bans Huawei from 5G core">
<meta property="og:site_name" content="The Daily Planet">
<meta name="author" content="Lois Lane">
<meta property="article:published_time" content="2021-03-04T09:30:00Z">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World news menu</a></li></ul></nav>
<div class="ad advert" id="ad-top">BUY CHEAP WIDGETS NOW special offer advertisement</div>
<article><h1>Ruritania bans Huawei from 5G core</h1>
<p>The government of Ruritania said on Thursday that it would exclude Huawei from the core of its
5G networks, citing national security concerns raised by its intelligence services.</p>
<p>"We cannot accept a risk to our critical infrastructure," the minister of digital affairs,
Rudolf Rassendyll, told reporters in the capital after a cabinet meeting.</p>
<p>Operators will have until 2025 to remove existing equipment from their core networks, the
ministry said in a statement published on its website.</p>
{extra}</article>
<section id="comments" class="comments"><h3>Comments</h3>
<div class="comment"><p>Great article, totally agree with this reader comment text!</p></div>\
</section>
<footer><p>Copyright 2021 Daily Planet footer text. All rights reserved.</p></footer>
</body></html>"""
BOILERPLATE = ("World news menu", "BUY CHEAP", "Great article", "Copyright 2021")

BARE = """<html><body><article><p>{text} The regulator gave operators eighteen months to
comply with the new rules on equipment from high-risk vendors, officials said.</p>
<p>Industry groups said the timetable was tight but achievable for most operators.</p>
</article></body></html>"""


def rss(site: Site, items: list[tuple[str, str, str]]) -> str:
    """An RSS feed whose items are (path, title, RFC 822 date)."""
    body = "".join(f"<item><title>{t}</title><link>{site.url(p)}</link><guid>{p}</guid>"
                   f"<pubDate>{d}</pubDate><author>desk@wire.example (Wire Desk)</author></item>"
                   for p, t, d in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Wire Feed</title><link>{site.url('/')}</link>{body}</channel></rss>")


def day(y: int, m: int, d: int) -> str:
    return format_datetime(datetime(y, m, d, 8, 0, tzinfo=UTC))


@pytest.fixture
def site():
    site = Site()
    site.thread.start()
    site.serve("/article.html", ARTICLE.format(extra=""))
    site.serve("/news/1.html", BARE.format(text="Freedonia barred ZTE from its mobile networks."))
    site.serve("/news/2.html", BARE.format(text="Sylvania reviewed Huawei kit in its 4G core."))
    site.serve("/feed.xml", rss(site, [("/news/1.html", "Freedonia bars ZTE", day(2022, 1, 5)),
                                       ("/news/2.html", "Sylvania review", day(2022, 2, 7))]),
               "application/rss+xml")
    site.serve("/broken", "oops", "text/plain", status=500)
    site.serve("/big", "x" * 50_000, "text/html")
    site.serve("/big-stream", "y" * 50_000, "text/html", **{"X-No-Length": "1"})
    site.serve("/image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "image/png")
    site.serve("/hop", "", "text/html", status=302, Location="/article.html")
    site.serve("/loop", "", "text/html", status=302, Location="/loop")
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture
def web_settings(tmp_path):
    """Settings for the local server: private addresses allowed, a small size cap."""
    return make_settings(tmp_path / "data", allow_private_urls=True, fetch_max_bytes=20_000,
                         fetch_timeout=5.0, chunk_words=40, chunk_overlap_words=5)


def records_by_url(settings) -> dict[str, DocumentRecord]:
    return {m.url: m for m in Store(settings).doc_records().values()}


def test_html_by_url_keeps_the_main_text_and_page_metadata(site, web_settings):
    url = site.url("/article.html")
    report = ingest([url], web_settings, progress=False)
    assert (report.new, report.failed) == (1, [])
    meta = records_by_url(web_settings)[url]
    assert meta.title == "Ruritania bans Huawei from 5G core"
    assert (meta.outlet, meta.author, meta.published_text) == (
        "The Daily Planet", "Lois Lane", "2021-03-04")
    assert meta.source == url
    text = " ".join(p.text for p in Store(web_settings).get())
    assert "exclude Huawei from the core" in text and "Rudolf Rassendyll" in text
    assert not [b for b in BOILERPLATE if b in text]


def test_feed_entries_are_ingested_with_the_entry_as_fallback_metadata(site, web_settings):
    report = ingest([], web_settings, progress=False, feeds=[site.url("/feed.xml")])
    assert (report.new, report.failed) == (2, [])
    meta = records_by_url(web_settings)[site.url("/news/1.html")]
    assert meta.title == "Freedonia bars ZTE"  # the page has no title: the entry's
    assert meta.published_text == "2022-01-05" and meta.author == "desk@wire.example (Wire Desk)"
    assert meta.outlet == "Wire Feed"


def test_second_run_of_urls_and_feed_writes_nothing(site, web_settings):
    sources = [site.url("/article.html"), site.url("/report.pdf")]
    site.serve("/report.pdf", make_pdf([["A short report on vendor rules."]]), "application/pdf")
    first = ingest(sources, web_settings, progress=False, feeds=[site.url("/feed.xml")])
    assert (first.new, first.failed) == (4, [])
    store = Store(web_settings)
    generation = store.index_record()["generation"]
    second = ingest(sources, web_settings, store=store, progress=False,
                    feeds=[site.url("/feed.xml")])
    assert (second.new, second.changed, second.unchanged, second.chunks_embedded) == (0, 0, 4, 0)
    assert store.index_record()["generation"] == generation


def test_a_changed_feed_entry_is_updated(site, web_settings):
    feed = site.url("/feed.xml")
    ingest([], web_settings, progress=False, feeds=[feed])
    site.serve("/news/1.html", BARE.format(text="Freedonia lifted its ban on ZTE in March."))
    report = ingest([], web_settings, progress=False, feeds=[feed])
    assert (report.changed, report.unchanged, report.new) == (1, 1, 0)
    texts = [p.text for p in Store(web_settings).get() if p.meta.url.endswith("/news/1.html")]
    assert texts and all("barred ZTE" not in t for t in texts)
    assert any("lifted its ban" in t for t in texts)


@pytest.mark.parametrize(("path", "problem"), [
    ("/missing", "HTTP 404 Not Found"),
    ("/broken", "HTTP 500 Internal Server Error"),
    ("/big", "too large (50000 bytes; limit 20000)"),
    ("/big-stream", "too large (over 20000 bytes)"),
    ("/image.png", "not a text document (content type image/png)"),
    ("/loop", "more than 5 redirects"),
])
def test_bad_responses_give_a_clear_error_and_leave_the_index_intact(
        site, web_settings, path, problem):
    ingest([site.url("/article.html")], web_settings, progress=False)
    before = Store(web_settings).count()
    report = ingest([site.url(path)], web_settings, progress=False)
    assert report.failed == [(site.url(path), f"{site.url(path)}: {problem}")]
    assert not report.wrote and Store(web_settings).count() == before


def test_cli_reports_a_failing_url_in_one_line_and_ingests_the_rest(
        site, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VENDORBAN_EMBEDDING_BACKEND", "torch")  # no ONNX export here
    monkeypatch.setenv("VENDORBAN_ALLOW_PRIVATE_URLS", "true")
    status = main(["ingest", "--quiet", site.url("/missing"), site.url("/article.html")])
    out, err = capsys.readouterr()
    assert status == 1
    assert err.strip() == f"error: {site.url('/missing')}: HTTP 404 Not Found"
    assert out.startswith("1 new, 0 changed") and "1 failed" in out


def test_private_addresses_are_refused_by_default(site, tmp_path):
    settings = make_settings(tmp_path / "data")
    report = ingest([site.url("/article.html")], settings, progress=False,
                    feeds=[site.url("/feed.xml")])
    assert len(report.failed) == 2 and report.new == 0
    assert all("refused" in msg and "private or local address" in msg for _, msg in report.failed)
    assert site.hits["/article.html"] == 0 and site.hits["/feed.xml"] == 0  # never contacted


@pytest.mark.parametrize("target", ["http://10.1.2.3/admin", "http://169.254.169.254/latest/",
                                    "http://[::1]:9/", "http://127.0.0.2:9/"])
def test_a_redirect_to_a_private_address_is_refused(site, tmp_path, monkeypatch, target):
    # The test server plays a public site: 127.0.0.1 itself counts as public, nothing else local.
    real = addresses.is_public
    monkeypatch.setattr(addresses, "is_public", lambda ip: str(ip) == "127.0.0.1" or real(ip))
    site.serve("/to-private", "", "text/html", status=302, Location=target)
    settings = make_settings(tmp_path / "data", fetch_timeout=3.0)
    assert fetching.fetch(site.url("/article.html"), settings).media_type == "text/html"
    with pytest.raises(IngestError, match="refused, .* private or local address"):
        fetching.fetch(site.url("/to-private"), settings)


def test_redirects_are_followed_and_the_document_keeps_the_url_asked_for(site, web_settings):
    report = ingest([site.url("/hop")], web_settings, progress=False)
    assert report.new == 1
    meta = records_by_url(web_settings)[site.url("/hop")]
    assert meta.source == site.url("/hop") and meta.title.startswith("Ruritania")


# Four ten-word sentences a page, so that with 40-word chunks every chunk is one page.
PAGES = [
    ["This annual report covers telecom security in the Republic of Ruritania.",
     "Chapter one describes the structure of the national mobile market.",
     "Four mobile operators and two fixed operators serve the country.",
     "Their networks carry most voice and data traffic in Ruritania."],
    ["Most radio equipment in these networks comes from European suppliers.",
     "Some older sites still use equipment bought from Asian suppliers.",
     "The ministry audited every operator during the first half year.",
     "The audit found no breach of the existing security rules."],
    ["The regulator ordered the removal of Huawei equipment by 2026.",
     "That order covers the core networks of all four operators.",
     "Operators must report their progress every six months to ministers.",
     "Fines apply when an operator misses a deadline without reason."],
]


def test_pdf_citation_shows_the_page_number(site, web_settings):
    from bot.core.assistant import Assistant

    url = site.serve("/report.pdf", make_pdf(PAGES, title="Ruritania telecom security report",
                                             author="Ministry of Digital Affairs",
                                             created="D:20230115090000Z"), "application/pdf")
    assert ingest([url], web_settings, progress=False).new == 1
    meta = records_by_url(web_settings)[url]
    assert (meta.title, meta.published_text) == ("Ruritania telecom security report", "2023-01-15")
    answer = Assistant(web_settings).ask("By when must operators remove Huawei equipment?")
    cited = [c for c in answer.citations if "removal of Huawei" in c.passage]
    assert answer.found and cited and cited[0].page == 3
    assert f"(127.0.0.1, 2023-01-15, p. 3) {url}" in render_text(answer)


def test_watch_picks_up_an_entry_added_between_polls(site, tmp_path, monkeypatch, capsys):
    items = [("/news/1.html", "Freedonia bars ZTE", day(2022, 1, 5))]
    polls = []

    def feed(headers):  # the second poll sees one more entry
        polls.append(1)
        extra = [("/news/2.html", "Sylvania review", day(2022, 2, 7))] if len(polls) > 1 else []
        return 200, {"Content-Type": "application/rss+xml"}, rss(site, items + extra).encode()

    site.routes["/feed.xml"] = feed
    monkeypatch.setenv("VENDORBAN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("VENDORBAN_ALLOW_PRIVATE_URLS", "true")
    status = main(["watch", "--feed", site.url("/feed.xml"), "--rounds", "2", "--interval", "0"])
    out = capsys.readouterr().out.splitlines()
    assert status == 0 and len(polls) == 2
    assert "round 1: 1 new, 0 changed" in out[0] and "round 2: 1 new, 0 changed" in out[1]
    assert site.hits["/news/1.html"] == 1  # seen and unchanged: not fetched again


@pytest.mark.slow  # watch rounds
def test_watch_survives_a_feed_that_is_down_and_retries_it(site, web_settings):
    down, good = site.url("/broken"), site.url("/feed.xml")
    first = poll([down, good], web_settings)
    assert first.new == 2 and [s for s, _ in first.failed] == [down]
    site.serve("/broken", rss(site, [("/article.html", "Ruritania", day(2021, 3, 4))]),
               "application/rss+xml")
    second = poll([down, good], web_settings)
    assert (second.new, second.unchanged, second.failed) == (1, 0, [])
    assert site.hits["/news/1.html"] == 1 and site.hits["/broken"] == 2


def test_watch_sends_conditional_requests_and_a_304_costs_nothing(site, web_settings):
    body = rss(site, [("/news/1.html", "Freedonia bars ZTE", day(2022, 1, 5))]).encode()
    asked = []

    def feed(headers):
        asked.append(headers.get("If-None-Match"))
        if headers.get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"Content-Type": "application/rss+xml", "ETag": '"v1"'}, body

    site.routes["/feed.xml"] = feed
    assert poll([site.url("/feed.xml")], web_settings).new == 1
    second = poll([site.url("/feed.xml")], web_settings)
    assert asked == [None, '"v1"']
    assert (second.new, second.unchanged, second.failed) == (0, 0, [])
    assert site.hits["/news/1.html"] == 1


def test_html_and_pdf_files_are_read_from_a_folder(web_settings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    front = "---\ntitle: Our own title\ncountries: [Ruritania]\n---\n"
    (folder / "page.html").write_text(front + ARTICLE.format(extra=""), encoding="utf-8")
    (folder / "report.pdf").write_bytes(make_pdf(PAGES, title="Security report"))
    report = ingest([folder], web_settings, progress=False)
    assert (report.new, report.failed) == (2, [])
    by_title = {m.title: m for m in Store(web_settings).doc_records().values()}
    page = by_title["Our own title"]  # front matter wins, the page fills the rest
    assert (page.outlet, page.author, page.countries) == (
        "The Daily Planet", "Lois Lane", ("Ruritania",))
    pdf_pages = {p.meta.page for p in Store(web_settings).get()
                 if p.meta.title == "Security report"}
    assert pdf_pages == {1, 2, 3}


@pytest.mark.slow  # watch rounds
def test_watch_updates_an_entry_that_changed_in_the_feed(site, web_settings):
    feed = site.url("/feed.xml")
    assert poll([feed], web_settings).new == 2
    site.serve("/news/1.html", BARE.format(text="Freedonia lifted its ban on ZTE in March."))
    assert poll([feed], web_settings).changed == 0  # the feed did not say so: nothing fetched
    site.serve("/feed.xml", rss(site, [("/news/1.html", "Freedonia lifts ZTE ban", day(2022, 3, 1)),
                                       ("/news/2.html", "Sylvania review", day(2022, 2, 7))]),
               "application/rss+xml")
    report = poll([feed], web_settings)
    assert (report.changed, report.new, report.unchanged) == (1, 0, 0)
    assert site.hits["/news/1.html"] == 2 and site.hits["/news/2.html"] == 1
    meta = records_by_url(web_settings)[site.url("/news/1.html")]
    assert (meta.title, meta.published_text) == ("Freedonia lifts ZTE ban", "2022-03-01")


def test_a_url_and_a_file_claiming_the_same_url_clash_and_the_file_is_kept(
        site, web_settings, tmp_path):
    url = site.url("/article.html")
    note = tmp_path / "note.md"
    note.write_text(f"---\ntitle: A note\nurl: {url}\n---\nA note about Ruritania.\n", "utf-8")
    report = ingest([note, url], web_settings, progress=False)
    assert report.new == 1 and report.failed == [
        (url, f"{url}: same document id (same url) as {note}")]


def test_watch_state_forgets_entries_that_left_the_feed(site, web_settings):
    from ingest.watch import load_state

    feed = site.url("/feed.xml")
    poll([feed], web_settings)
    assert set(load_state(web_settings)[feed]["entries"]) == {
        site.url("/news/1.html"), site.url("/news/2.html")}  # guids, made absolute
    site.serve("/feed.xml", rss(site, [("/news/2.html", "Sylvania review", day(2022, 2, 7))]),
               "application/rss+xml")
    assert poll([feed], web_settings).unchanged == 0
    assert set(load_state(web_settings)[feed]["entries"]) == {site.url("/news/2.html")}

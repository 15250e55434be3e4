"""The web page in a real headless browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.server_support import LiveServer

pytestmark = pytest.mark.slow  # a real headless Chromium

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAYLOAD = "<img src=x onerror='window.__pwned=1'>"
HOSTILE_DOC = f"""---
title: "Atlantis bans Huawei {PAYLOAD}"
url: https://example.org/atlantis
outlet: "Atlantis Gazette <b>bold</b>"
published: 2031-02-03
kind: article
countries: [Atlantis]
vendors: [Huawei]
---
The government of Atlantis banned Huawei from its telecom networks in 2031 {PAYLOAD} after a review.
Officials said the Atlantis ban covers all new Huawei equipment and takes effect at once.
"""


@pytest.fixture
def page():
    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail("chromium is required (apt-get install -y chromium)")
        pytest.skip("no /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        tab = browser.new_page()
        errors: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.errors = errors
        yield tab
        browser.close()


def ask_in_page(tab, url: str, question: str) -> None:
    tab.goto(url)
    tab.fill("#question", question)
    tab.click("#ask")
    tab.wait_for_selector("#result:not([hidden])", timeout=30_000)


def test_typing_a_question_shows_the_cited_answer_and_clickable_sources(serve, page):
    live = serve()
    ask_in_page(page, f"{live.url}/", "What did Suga say?")
    assert "Cybersecurity is becoming an important issue in Japan" in page.inner_text("#answer")
    links = page.locator("#sources li a[href^='http']")
    assert links.count() >= 1
    assert links.first.get_attribute("rel") == "noopener noreferrer"
    assert "undated" in page.inner_text("#sources")  # the seed: no outlet, no date...
    assert page.locator("#sources li strong", has_text="Japanese Government").count() == 1
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert not any(h.startswith(live.url) for h in hrefs)  # ...and no URL: not a link
    page.click("#answer a.cite >> nth=0")
    assert page.url.endswith("#source-1")
    page.click("#source-1 summary")
    assert page.locator("#source-1 blockquote").is_visible()
    assert page.errors == []  # no script error, no CSP violation


def test_not_found_answer_is_shown_without_sources(serve, page):
    live = serve()
    ask_in_page(page, f"{live.url}/", "Who won the 2018 World Cup?")
    assert "could not find" in page.inner_text("#answer")
    assert page.locator("#sources-block").is_hidden()


def test_token_field_appears_when_the_api_needs_one(serve, page):
    live = serve(api_token="page-token-123")
    page.goto(f"{live.url}/")
    page.fill("#question", "What did Suga say?")
    page.click("#ask")
    page.wait_for_selector("#token-row:not([hidden])")
    page.fill("#token", "page-token-123")
    page.click("#ask")
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)
    assert "Cybersecurity" in page.inner_text("#answer")
    page.click("#vote-up")  # the vote carries the token too
    page.wait_for_selector("#vote-thanks", state="visible", timeout=30_000)


def test_markup_in_passages_and_titles_is_shown_as_text(tmp_path, page):
    from bot.core.assistant import Assistant
    from bot.server.app import create_app
    from ingest.pipeline import ingest

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "atlantis.md").write_text(HOSTILE_DOC, encoding="utf-8")
    settings = make_settings(tmp_path / "data")  # corpus_dir is unused: ingest gets the path
    assert not ingest([tmp_path / "corpus"], settings, progress=False).failed
    live = LiveServer(create_app(settings, Assistant(settings)))
    try:
        ask_in_page(page, f"{live.url}/", "When did Atlantis ban Huawei?")
        page.click("#source-1 summary")
        assert PAYLOAD in page.inner_text("#answer")
        assert PAYLOAD in page.inner_text("#sources")
        assert "<b>bold</b>" in page.inner_text("#sources")
        assert page.locator("#result img, #result b").count() == 0
        assert page.evaluate("window.__pwned") is None
    finally:
        live.stop()


def test_a_tab_is_one_conversation_and_shows_the_rewritten_question(serve, page):
    live = serve()
    ask_in_page(page, f"{live.url}/", "What is the rip and replace programme in the US?")
    assert page.locator("#standalone").is_hidden()
    ask_in_page(page, f"{live.url}/", "How much will it cost?")  # reloaded: same tab, same id
    assert page.locator("#standalone").is_visible()
    assert "rip and replace" in page.inner_text("#standalone")
    assert "billion" in page.inner_text("#answer")
    other = page.context.browser.new_page()  # another tab, with its own sessionStorage
    ask_in_page(other, f"{live.url}/", "How much will it cost?")
    assert other.locator("#standalone").is_hidden()
    assert other.evaluate("sessionStorage.getItem('vendorban-conversation')") != \
        page.evaluate("sessionStorage.getItem('vendorban-conversation')")
    assert page.errors == []


def test_a_speaker_answer_shows_its_heading_and_one_item_per_sentence(serve, page):
    live = serve()
    ask_in_page(page, f"{live.url}/", "What did Suga say?")
    assert page.inner_text("#answer p").startswith("What Yoshihide Suga")
    items = page.locator("#answer li")
    assert items.count() >= 2
    assert all(items.nth(i).locator("a.cite").count() == 1 for i in range(items.count()))


def test_a_list_answer_shows_each_label(serve, page):
    live = serve()
    ask_in_page(page, f"{live.url}/", "Which countries have restricted Huawei?")
    labels = page.locator("#answer li > strong").all_inner_texts()
    assert len(labels) >= 4 and len(set(labels)) == len(labels)
    assert page.locator("#answer li").count() == len(labels)


def test_vote_buttons_record_the_vote_then_give_way_to_a_thank_you(serve, page, tmp_path):
    live = serve(data_dir=tmp_path / "data")
    ask_in_page(page, f"{live.url}/", "What did Suga say?")
    assert page.locator("#vote-up").is_visible() and page.locator("#vote-down").is_visible()
    assert page.locator("#vote-thanks").is_hidden()
    page.click("#vote-down")
    page.wait_for_selector("#vote-thanks", state="visible", timeout=30_000)
    assert page.locator("#vote-up").is_hidden() and page.locator("#vote-down").is_hidden()
    [vote] = live.services.usage.votes()
    assert (vote.vote, vote.question, vote.platform) == ("down", "What did Suga say?", "api")
    page.fill("#question", "Which countries have restricted Huawei?")  # same page, no reload
    page.click("#ask")
    page.wait_for_selector("#answer li > strong", timeout=30_000)
    assert page.locator("#vote-up").is_visible()  # a new answer: its own buttons
    assert page.locator("#vote-thanks").is_hidden()
    assert page.errors == []


def test_no_vote_buttons_when_the_server_records_no_answers(serve, page):
    live = serve(log_questions=False)
    ask_in_page(page, f"{live.url}/", "What did Suga say?")
    assert "Cybersecurity" in page.inner_text("#answer")
    assert page.locator("#vote").count() == 1 and page.locator("#vote").is_hidden()

"""The real-page dev set: public pages nobody on the team wrote, questions about them, quotations.

The repository holds only the page list (URL, the query that finds it, outlet), the questions and
the quotations (`eval/pages/*.yaml`); the page texts live in
`$VENDORBAN_DATA_DIR/devpages/<id>.json` and are filled by `python eval/pages/rebuild.py`.
Answers are scored like the gold set, next to a naive baseline that shows its top retrieved
chunk (LangChain's Chroma similarity search, k=1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.attribution import attribute
from bot.core.dates import parse_partial_date
from bot.core.schema import decode_chunk
from bot.core.types import Answer, AnswerItem, Citation, Document
from bot.evaluation.gold import EVAL_DIR, GoldItem, load_gold
from bot.evaluation.metrics import ItemResult, fact_present
from bot.render.text import answer_text

PAGES_DIR = EVAL_DIR / "pages"


@dataclass(frozen=True)
class Page:
    """One cached real page."""

    id: str
    url: str
    title: str
    outlet: str
    published: str | None
    text: str


def page_list(folder: Path = PAGES_DIR) -> list[dict]:
    """Every listed page (id, url, query, outlet), from all `pages-*.yaml` files."""
    entries = []
    for path in sorted(folder.glob("pages-*.yaml")):
        entries += yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return entries


def cache_dir(data_dir: Path) -> Path:
    return data_dir / "devpages"


def load_pages(data_dir: Path, folder: Path = PAGES_DIR) -> tuple[list[Page], list[str]]:
    """The cached pages of the list, and the ids listed but missing from the cache."""
    pages, missing = [], []
    for entry in page_list(folder):
        path = cache_dir(data_dir) / f"{entry['id']}.json"
        if not path.exists():
            missing.append(entry["id"])
            continue
        raw = json.loads(path.read_text(encoding="utf-8"))
        pages.append(Page(entry["id"], raw["url"], raw.get("title") or "", raw.get("outlet") or "",
                          raw.get("published"), raw["text"]))
    return pages, missing


def as_document(page: Page) -> Document:
    """A cached page as the Document an HTML page of that URL would give: no speakers list,
    no countries, only what the page itself says."""
    from ingest.documents import doc_id_for

    return Document(doc_id=doc_id_for(page.url, page.url), text=page.text.strip(),
                    title=page.title or page.text.strip().split("\n")[0][:120], source=page.url,
                    url=page.url, outlet=page.outlet, published=parse_partial_date(page.published))


def load_questions(folder: Path = PAGES_DIR) -> list[GoldItem]:
    items: list[GoldItem] = []
    for path in sorted(folder.glob("questions-*.yaml")):
        items += load_gold(path)
    return items


def cites_support(r: ItemResult) -> bool:
    """The answer cites one of the pages that support the item."""
    urls = {c.url or c.source for c in r.answer.citations}
    return r.answer.found and bool(urls & set(r.item.docs))


def page_metrics(results: Sequence[ItemResult]) -> dict:
    """What the issue asks to report on real pages (question-level, not fact-level)."""
    answerable = [r for r in results if r.item.answerable]
    said = [r for r in answerable if r.item.type == "what_said"]
    unanswerable = [r for r in results if not r.item.answerable]

    def has_fact(r: ItemResult) -> bool:
        shown = answer_text(r.answer)
        return r.answer.found and any(fact_present(f, shown) for f in r.item.key_facts)

    def ratio(n: int, d: int) -> float:
        return round(n / d, 4) if d else 1.0

    return {
        "key_fact_in_answer": ratio(sum(map(has_fact, answerable)), len(answerable)),
        "all_key_facts": ratio(sum(r.answer.found and r.facts_found == len(r.item.key_facts)
                                   for r in answerable), len(answerable)),
        "supporting_page_cited": ratio(sum(map(cites_support, answerable)), len(answerable)),
        "what_said_right": ratio(sum(has_fact(r) and not r.wrong_speaker for r in said),
                                 len(said)),
        "unanswerable_declined": f"{sum(not r.answer.found for r in unanswerable)}"
                                 f"/{len(unanswerable)}",
        "wrong_speaker": sum(r.wrong_speaker for r in results),
    }


def naive_answer(question: str, db: object) -> Answer:
    """The baseline: the top chunk of a plain similarity search, shown as the answer."""
    docs = db.similarity_search(question, k=1)  # type: ignore[attr-defined]
    if not docs:
        return Answer(question, "not_found", [AnswerItem("")], answerer="naive top chunk")
    doc = docs[0]
    meta = decode_chunk(doc.metadata)  # LangChain reads the project's own collection
    citation = Citation(1, meta.doc_id, "", meta.title, meta.outlet, meta.published_text,
                        meta.url, meta.source, doc.page_content, 0, len(doc.page_content))
    return Answer(question, "fact", [AnswerItem(doc.page_content, (1,))], [citation],
                  answerer="naive top chunk")


# ---- the attribution set: quotations from the pages with their speakers


def _fragment_pattern(fragment: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in fragment.replace("’", "'").replace("‘", "'").split()]
    body = r"\s+".join(words).replace("'", "['’‘]").replace('\\"', '["“”]')
    return re.compile(body, re.I)


def same_person(a: str, b: str) -> bool:
    """Two spellings of one person: the same last name, and first names that agree if both
    are given ("Ed Brewster" / "Edward Brewster", "Dowden" / "Oliver Dowden")."""
    pa, pb = a.lower().replace(".", "").split(), b.lower().replace(".", "").split()
    if not pa or not pb or pa[-1] != pb[-1]:
        return False
    if len(pa) == 1 or len(pb) == 1:
        return True
    return pa[0].startswith(pb[0]) or pb[0].startswith(pa[0])


def score_attribution(pages: Sequence[Page], folder: Path = PAGES_DIR) -> dict:
    """Precision and recall of speech attribution against the quotations of the pages."""
    gold = []
    for path in sorted(folder.glob("quotes-*.yaml")):
        gold += yaml.safe_load(path.read_text(encoding="utf-8")) or []
    by_id = {p.id: p for p in pages}
    found_for: dict[str, list] = {}
    right = wrong = missed = unlocated = named = 0
    mistakes = []
    for item in gold:
        page = by_id.get(item["page"])
        if page is None:
            continue
        text = as_document(page).text
        if page.id not in found_for:
            found_for[page.id] = attribute(text).spans
        match = _fragment_pattern(item["quote"]).search(text)
        if not match:
            unlocated += 1
            continue
        who = next((a.speaker for a in found_for[page.id] if a.start <= match.start() < a.end),
                   None)
        expected = item.get("speaker")
        named += bool(expected)
        if who and expected and same_person(who, expected):
            right += 1
        elif who:
            wrong += 1
            mistakes.append(f"{page.id}: {item['quote'][:50]!r} -> {who} (gold: {expected})")
        elif expected:
            missed += 1
    return {"quotes": len(gold), "attributed_right": right, "attributed_wrong": wrong,
            "missed": missed, "unlocated": unlocated,
            "precision": round(right / (right + wrong), 4) if right + wrong else 1.0,
            "recall": round(right / named, 4) if named else 1.0, "mistakes": mistakes}

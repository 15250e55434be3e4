"""Hard-wrapped text (wire copy, PDF pages) is read as sentences, not as line fragments."""

from __future__ import annotations

from bot.core.attribution import attribute
from bot.core.sentences import split_sentences
from ingest.layout import unwrap

# A fictional wire story, wrapped at a fixed width the way agency copy and PDF text arrive.
WIRE = """VALDORA, March 3 (Wire) - Ruritania has barred the telecoms group
Nordlink from buying core equipment from Huawei, two officials
close to the matter said, in the clearest sign yet of a tougher
stance on Chinese suppliers.
At a cabinet meeting on Tuesday, ministers used special screening
powers to stop the contract, the officials said.
"We have asked Nordlink to find other suppliers before the end of
the year," Interior Minister Olaf Brenner told reporters.
Huawei declined to comment.
(Reporting by A. Writer; Editing by B. Editor)"""

ARTICLE = """Ruritania bars Huawei from its 5G core

Ruritania has barred the telecoms group Nordlink from buying core equipment from Huawei.
"We have asked Nordlink to find other suppliers," Interior Minister Olaf Brenner said.

- Nordlink
- Telco Two"""


def test_wrapped_lines_become_whole_sentences_of_the_same_length() -> None:
    text = unwrap(WIRE)
    assert len(text) == len(WIRE)  # offsets into the document stay valid
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert ("At a cabinet meeting on Tuesday, ministers used special screening powers to stop the "
            "contract, the officials said.") in sentences
    assert "Huawei declined to comment." in sentences  # a line ending a sentence keeps its break
    assert not any(s.startswith(("Nordlink from", "powers to")) for s in sentences)


def test_a_quotation_wrapped_across_lines_keeps_its_speaker() -> None:
    found = attribute(unwrap(WIRE))
    spoken = [unwrap(WIRE)[a.start:a.end] for a in found.spans if a.speaker == "Olaf Brenner"]
    assert any("find other suppliers before the end of the year" in s for s in spoken)


def test_text_with_one_paragraph_per_line_is_left_alone() -> None:
    assert unwrap(ARTICLE) == ARTICLE  # headings, paragraphs and list items keep their breaks

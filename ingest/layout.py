"""Hard-wrapped text (wire copy, e-mail, PDF extraction) joined back into paragraphs.

A wire story or a PDF page breaks its lines at a fixed width, mid-sentence:

    Italy has prevented telecoms group
    Fastweb from signing a supply deal ...

Read line by line, every fragment looks like a heading and no sentence is whole, so neither the
answerer nor speech attribution can use it. `unwrap` replaces such line breaks with spaces. It keeps
the text's length, so every offset (chunk spans, PDF page starts, attributions) stays valid.
Changing its rules changes stored text: bump `ingest.pipeline.CHUNKER_VERSION`.
"""

from __future__ import annotations

import re
import statistics

_ENDS_SENTENCE = re.compile(r"[.!?…:;]['\"’”)\]]*\s*$")
_MIN_WRAPPED = 3  # lines broken mid-sentence before a text counts as hard-wrapped
_WRAPPED_SHARE = 0.3  # ... and their share of the text's lines
_MAX_WIDTH = 110  # a hard-wrapped text's typical line is shorter than this


def is_hard_wrapped(lines: list[str]) -> bool:
    """Most lines are short and many stop mid-sentence with more text on the next line."""
    filled = [ln.strip() for ln in lines if ln.strip()]
    if len(filled) < _MIN_WRAPPED + 1:
        return False
    broken = sum(1 for a, b in zip(lines, lines[1:], strict=False)
                 if a.strip() and b.strip() and not _ENDS_SENTENCE.search(a))
    width = statistics.median(len(ln) for ln in filled)
    return broken >= _MIN_WRAPPED and broken >= _WRAPPED_SHARE * len(filled) and width <= _MAX_WIDTH


def unwrap(text: str) -> str:
    """`text` with line breaks inside wrapped sentences replaced by spaces (same length).

    A break after a line that does not end a sentence and before a line starting in lower case
    is always inside a sentence. In a text that is hard-wrapped as a whole, so is every break
    after a line that does not end a sentence and before a non-empty line that is not a list
    item. Blank lines and lines ending in a full stop keep their breaks.
    """
    lines = text.split("\n")
    wrapped = is_hard_wrapped(lines)
    out = []
    for i, line in enumerate(lines[:-1]):
        following = lines[i + 1].lstrip()
        joins = bool(line.strip() and following and not _ENDS_SENTENCE.search(line)) and (
            following[0].islower()
            or (wrapped and not following.startswith(("-", "*", "•", "#", "|"))))
        out.append(line + (" " if joins else "\n"))
    out.append(lines[-1])
    return "".join(out)

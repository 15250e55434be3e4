"""Sentence splitting: the boundaries it finds, and bounded work on hostile text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.sentences import split_sentences

ROOT = Path(__file__).resolve().parent.parent


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text)]


def test_abbreviations_initials_and_quotes_do_not_end_a_sentence_early():
    text = ('Mr. Smith met J. Doe in the U.S. on Monday. "It is done," he said. Is it? '
            "Yes!!! The e.g. case stays... together. (Next one.) Done")
    assert sentences(text) == [
        "Mr. Smith met J. Doe in the U.S. on Monday.", '"It is done," he said.', "Is it?",
        "Yes!!!", "The e.g. case stays... together.", "(Next one.)", "Done"]


def test_offsets_are_shifted_and_lines_are_separate_paragraphs():
    assert split_sentences("One. Two\nThree.", offset=10) == [(10, 14), (15, 18), (19, 25)]


@pytest.mark.slow  # a subprocess on huge inputs
def test_long_runs_of_punctuation_are_split_in_bounded_time():
    # Quadratic before (16 KB of full stops took 9 s, 64 KB 107 s): 2 MB would take hours.
    # The run is bounded by a subprocess timeout, so a regression fails instead of hanging.
    code = ("from bot.core.sentences import split_sentences as s\n"
            "n = 2_000_000\n"
            "print(len(s('.' * n)), len(s(('!' * 999 + ' x') * (n // 1001))),"
            " len(s(('A.' + ' ' * 999 + 'x') * (n // 1002))), len(s('Done... ' * (n // 8))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["1", "1", "1", str(2_000_000 // 8)]

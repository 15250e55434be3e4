"""The gold set (eval/questions.yaml): questions, key facts, supporting documents."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, model_validator

from bot.core.errors import ConfigError

# The repository's eval/ folder (questions.yaml, floors.yaml, pages/), found beside the installed
# packages rather than in the working directory; `vendorban eval --dir` points elsewhere.
EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"

Kind = Literal["what_said", "when", "why", "deadline", "list", "fact", "unanswerable"]


class GoldItem(BaseModel):
    """One question with what a correct answer must contain."""

    id: str
    question: str
    type: Kind
    answerable: bool
    speaker: str | None = None
    key_facts: list[list[str]] = Field(default_factory=list)
    docs: list[str] = Field(default_factory=list)
    split: Literal["dev", "test"] = "dev"

    @model_validator(mode="after")
    def _consistent(self) -> GoldItem:
        if self.answerable and not (self.key_facts and self.docs):
            raise ValueError(f"{self.id}: an answerable item needs key_facts and docs")
        if not self.answerable and (self.key_facts or self.docs):
            raise ValueError(f"{self.id}: an unanswerable item has no key_facts or docs")
        return self


def load_gold(path: Path, split: str | None = None) -> list[GoldItem]:
    """The gold items of a file, optionally only one split ('dev', 'test')."""
    if not path.is_file():
        raise ConfigError(f"no gold set at {path}: pass the eval folder with --dir, or the file")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    items = [GoldItem.model_validate(entry) for entry in raw]
    ids = [i.id for i in items]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: duplicate ids")
    return [i for i in items if split in (None, "all", i.split)]

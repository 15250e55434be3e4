"""Markdown and plain-text sources with YAML front matter -> Document."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from bot.core.dates import PartialDate, parse_partial_date
from bot.core.errors import IngestError
from bot.core.types import Document

# libyaml's safe loader when PyYAML has it: same results, much faster (the pure-Python one was a
# large share of ingest's own time on many short documents).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

log = logging.getLogger(__name__)

KINDS = ("article", "statement", "timeline")
LIST_FIELDS = ("speakers", "countries", "vendors")
TEXT_FIELDS = ("title", "url", "outlet", "language", "author")


def doc_id_for(url: str, source: str) -> str:
    """Deterministic document id: from the URL when there is one, else from the source path."""
    key = url.strip() or source
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def path_key(file: Path, root: Path) -> str:
    """A file's identity however its path was typed: "<root folder's name>/<path inside it>".

    `root` is the folder or file given to ingest (a file counts as inside its folder), so
    `corpus/a.md`, `/abs/corpus/a.md`, `./corpus/` and a moved `corpus/` folder all give
    "corpus/a.md". Not resolved through symlinks: a linked file keeps its place in the tree.
    """
    base = os.path.abspath(root if root.is_dir() else root.parent)
    inside = os.path.relpath(os.path.abspath(file), base)
    return PurePosixPath(os.path.basename(base), *Path(inside).parts).as_posix()


def keyed_by(docs: list[Document], key: str) -> list[Document]:
    """Documents whose id came from their source path, re-identified by `key` (see path_key)."""
    return [replace(d, doc_id=doc_id_for("", key))
            if not d.url.strip() and d.doc_id == doc_id_for("", d.source) else d for d in docs]


def read_text(path: Path) -> str:
    """A file's text; one clear IngestError for unreadable, binary, empty or non-UTF-8 files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if b"\x00" in raw[:8192]:
        raise IngestError(f"{path}: binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    if not text.strip():
        raise IngestError(f"{path}: empty file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any] | None, str]:
    """(front matter or None, body). Broken YAML is an IngestError naming the file."""
    if not text.startswith("---\n"):
        return None, text
    end = text.find("\n---", 4)
    if end == -1:
        raise IngestError(f"{source}: front matter opened with '---' but never closed")
    raw = text[4:end]
    try:
        if "&" in raw or "*" in raw:  # a few hundred bytes of nested aliases expand to GBs
            kinds = {type(t) for t in yaml.scan(raw, Loader=SAFE_LOADER)}
            if kinds & {yaml.AliasToken, yaml.AnchorToken}:
                raise IngestError(f"{source}: front matter uses YAML anchors or aliases "
                                  "(& or *), which are not accepted; write the values out")
        meta = yaml.load(raw, Loader=SAFE_LOADER) or {}
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # "published: 2018-13-45": ValueError
        if isinstance(exc, IngestError):
            raise
        problem = str(exc).splitlines()[0]
        raise IngestError(f"{source}: broken front matter ({problem})") from exc
    if not isinstance(meta, dict):
        raise IngestError(f"{source}: front matter must be a mapping of fields")
    body_start = text.find("\n", end + 4)
    body = text[body_start + 1 :] if body_start != -1 else ""
    return meta, body


def parse_date(value: Any, source: str) -> PartialDate | None:
    """A `published` value as a (possibly partial) date; None when empty."""
    try:
        return parse_partial_date(value)
    except ValueError as exc:
        raise IngestError(f"{source}: published {exc}") from exc


def as_list(value: Any, name: str, source: str) -> tuple[str, ...]:
    """A list field (a YAML list or a comma-separated string) as a tuple of names."""
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        raise IngestError(f"{source}: {name} must be a list")
    return tuple(str(v).strip() for v in value if str(v).strip())


def document_from_fields(meta: dict[str, Any], body: str, source: str, **extra: Any) -> Document:
    """Build a Document from front-matter-like fields and a body, validating each field."""
    body = body.strip("\n")
    if not body.strip():
        raise IngestError(f"{source}: no text after the front matter")
    kind = str(meta.get("kind") or "article").strip().lower()
    if kind not in KINDS:
        raise IngestError(f"{source}: kind {kind!r} must be one of {', '.join(KINDS)}")
    fields = {f: str(meta.get(f) or "").strip() for f in TEXT_FIELDS}
    title = fields["title"] or first_line(body)
    return Document(
        doc_id=doc_id_for(fields["url"], source),
        text=body,
        title=title,
        source=source,
        url=fields["url"],
        outlet=fields["outlet"],
        published=parse_date(meta.get("published"), source),
        kind=kind,
        speakers=as_list(meta.get("speakers"), "speakers", source),
        countries=as_list(meta.get("countries"), "countries", source),
        vendors=as_list(meta.get("vendors"), "vendors", source),
        language=fields["language"] or "en",
        author=fields["author"],
        **extra,
    )


def first_line(body: str) -> str:
    """The first non-empty line, trimmed to a title's length."""
    line = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    return line.lstrip("# ").strip()[:200]


def load_text_file(path: Path, source: str) -> list[Document]:
    """A Markdown or plain-text file (front matter optional) as one Document."""
    meta, body = split_front_matter(read_text(path), source)
    if meta is None:
        log.warning("%s: no front matter; title taken from its first line", source)
        meta = {}
    return [document_from_fields(meta, body, source)]

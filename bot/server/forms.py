"""Slash-command form bodies: strict parsing, required fields, a usable response_url."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from fastapi import HTTPException

MAX_FIELDS = 50


def parse_form(body: bytes, required: tuple[str, ...] = ()) -> dict[str, str]:
    """The fields of a form-encoded body; 400 when malformed or missing a required field."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "Malformed form body.") from None
    form = dict(pairs)
    missing = [name for name in required if not form.get(name)]
    if missing:
        raise HTTPException(400, f"Missing form field(s): {', '.join(missing)}.")
    if "response_url" in form and urlsplit(form["response_url"]).scheme not in ("http", "https"):
        raise HTTPException(400, "response_url must be an http(s) URL.")
    return form

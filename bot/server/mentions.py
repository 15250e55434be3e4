"""Echoed corpus text must never ping a channel: mass mentions are broken before rendering."""

from __future__ import annotations

import re

ZWSP = "\u200b"  # invisible, but stops every platform from reading the word as a mention
_SLACK_SPECIAL = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>", re.IGNORECASE)
_MASS = re.compile(r"@(channel|here|everyone|all)\b", re.IGNORECASE)
_ANY_USER = re.compile(r"@(?=\w)")


def neutralise_mentions(text: str, users_too: bool = False) -> str:
    """`<!channel>`, `@here`, `@all`... made inert; with users_too, every `@name` as well."""
    text = _SLACK_SPECIAL.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)
    if users_too:
        return _ANY_USER.sub(f"@{ZWSP}", text)
    return _MASS.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)

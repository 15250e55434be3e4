"""Alerts on new measures: subscriptions (a webhook URL, or a Slack or Discord channel posted to
with the bot's token), and one message per subscription when an ingest adds new documents.

Subscriptions live in `subscriptions.json` in the data directory (written atomically, under a file
lock); this module is their one owner, for the CLI and the chat commands alike. A webhook
URL obeys the fetch's address policy when it is added and again at every delivery, which connects
through `ingest.fetch`'s guarded transport (to exactly the address it checked). A delivery is
retried only when it certainly did not arrive (no connection) or the receiver said it failed
(5xx, 408, 429), as in `bot/chat/delivery.py`: a post that timed out once sent may have been
delivered, and sending it again would post the same alert twice.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bot.core.config import Settings
from bot.core.errors import BotError, InputError
from bot.core.schema import canonical_country, canonical_vendor, country_flag, vendor_flag
from bot.core.types import Document
from ingest.addresses import AddressError, allowed_addresses
from ingest.fetch import USER_AGENT, GuardedBackend, GuardedTransport

log = logging.getLogger(__name__)
FILE = "subscriptions.json"
ATTEMPTS = 3
BACKOFF = 1.0  # seconds before the 2nd attempt, doubled before each later one
DEADLINE = 30.0  # seconds one subscription's delivery may take, retries included
MAX_BLOCK_DOCS = 20  # Slack allows 50 blocks a message
MAX_DOCS = 200  # documents listed in one message's `documents`
MAX_PER_CHANNEL = 25  # subscriptions one chat channel may hold (a country each, say)
DISCORD_CONTENT_MAX = 2000
CHANNEL_PLATFORMS = ("slack", "discord")
_DISCORD_MARKDOWN = str.maketrans({c: f"\\{c}" for c in "\\*_~`|>[]()"})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)  # safe to send again


@dataclass(frozen=True)
class Subscription:
    """A webhook or a chat channel told about new documents, optionally only those about a
    country or vendor."""

    id: str
    webhook: str = ""  # the URL posted to; empty for a channel
    country: str = ""  # canonical name; empty = any
    vendor: str = ""  # empty = any
    created: float = 0.0
    platform: str = ""  # "slack" or "discord" for a channel, posted to with the bot token
    channel: str = ""  # the platform's channel id

    def target(self) -> str:
        """Where its alerts go, safe to show and log (a webhook's path is often a secret)."""
        return f"{self.platform} channel {self.channel}" if self.channel else where(self.webhook)


def where(url: str) -> str:
    """A webhook URL reduced to scheme and host (its path is often a secret, as in Slack's)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}"


def check_webhook(url: str, settings: Settings) -> None:
    """InputError unless `url` is http(s) and its host passes the fetch's address policy."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url}: a webhook must be an http:// or https:// URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        allowed_addresses(parts.hostname, port, settings.allow_private_urls)
    except ValueError as exc:
        raise InputError(f"{url}: not a valid URL ({exc})") from exc
    except AddressError as exc:
        raise InputError(f"webhook {where(url)}: {exc}") from exc


class Subscriptions:
    """Reads and writes the subscriptions file in the data directory; cheap to create."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path: Path = settings.data_dir / FILE

    def all(self) -> list[Subscription]:
        """Every subscription, oldest first; none when there is no (readable) file."""
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise BotError(f"cannot read {self.path} ({exc}); fix or delete it") from exc
        return [Subscription(**row) for row in rows] if isinstance(rows, list) else []

    def add(self, webhook: str, country: str = "", vendor: str = "") -> Subscription:
        """Check the webhook and store a new subscription."""
        check_webhook(webhook, self.settings)
        sub = Subscription(f"s{secrets.token_hex(4)}", webhook,
                           canonical_country(country) if country else "",
                           canonical_vendor(vendor) if vendor else "", time.time())
        with self._locked():
            self._save([*self.all(), sub])
        return sub

    def add_channel(self, platform: str, channel: str, country: str = "",
                    vendor: str = "") -> Subscription:
        """Subscribe a Slack or Discord channel (the same filters twice: the one subscription)."""
        if platform not in CHANNEL_PLATFORMS or not channel.replace("-", "").isalnum():
            raise InputError("alerts go to a Slack or Discord channel, from inside it")
        country = canonical_country(country) if country.strip() else ""
        vendor = " ".join(vendor.split())
        with self._locked():
            subs = self.all()
            mine = [s for s in subs if (s.platform, s.channel) == (platform, channel)]
            same = next((s for s in mine if (s.country, s.vendor) == (country, vendor)), None)
            if same:
                return same
            if len(mine) >= MAX_PER_CHANNEL:
                raise InputError(f"this channel has {len(mine)} subscriptions already; "
                                 "unsubscribe from some first")
            sub = Subscription(f"s{secrets.token_hex(4)}", "", country, vendor, time.time(),
                               platform, channel)
            self._save([*subs, sub])
        return sub

    def of_channel(self, platform: str, channel: str) -> list[Subscription]:
        """A channel's subscriptions, oldest first."""
        return [s for s in self.all() if (s.platform, s.channel) == (platform, channel)]

    def remove_channel(self, platform: str, channel: str, which: str = "") -> list[Subscription]:
        """Remove a channel's subscriptions: all, the one with id `which`, or those about the
        country `which`; returns those removed."""
        country = canonical_country(which) if which.strip() else ""
        with self._locked():
            subs = self.all()
            gone = [s for s in subs if (s.platform, s.channel) == (platform, channel)
                    and (not which or s.id == which.strip() or s.country == country)]
            if gone:
                self._save([s for s in subs if s not in gone])
        return gone

    def remove(self, sub_id: str) -> bool:
        """Remove a subscription; False when there is none with that id."""
        with self._locked():
            subs = self.all()
            kept = [s for s in subs if s.id != sub_id]
            if len(kept) == len(subs):
                return False
            self._save(kept)
        return True

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the subscriptions' lock: two processes changing them at once lose neither change."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{FILE}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _save(self, subs: list[Subscription]) -> None:
        """Write atomically: a crash mid-write must not lose the other subscriptions."""
        tmp = self.path.with_name(f".{FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps([asdict(s) for s in subs], indent=1), encoding="utf-8")
        tmp.replace(self.path)


def matches(sub: Subscription, doc: Document) -> bool:
    """Whether a document is about the subscription's country and vendor (no filter: any)."""
    if sub.country and country_flag(sub.country) not in {country_flag(c) for c in doc.countries}:
        return False
    return not sub.vendor or vendor_flag(sub.vendor) in {vendor_flag(v) for v in doc.vendors}


def document_dict(doc: Document) -> dict:
    """What a message's `documents` says about one document."""
    return {"title": doc.title, "url": doc.url, "outlet": doc.outlet,
            "published": doc.published.isoformat() if doc.published else "",
            "countries": [canonical_country(c) for c in doc.countries],
            "vendors": [canonical_vendor(v) for v in doc.vendors]}


def _escape(text: str) -> str:
    """Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _line(d: dict, markup: bool) -> str:
    title = _escape(d["title"]) if markup else d["title"]
    head = f"<{d['url']}|{title}>" if markup and d["url"] else title
    facts = [d["outlet"], d["published"] or "undated", ", ".join(d["countries"])]
    tail = " · ".join(f for f in facts if f)
    link = f" {d['url']}" if d["url"] and not markup else ""
    return f"{head} ({_escape(tail) if markup else tail}){link}"


def message(docs: Sequence[Document]) -> dict:
    """The webhook body: Slack-compatible `text` and `blocks`, plus `documents` for programs."""
    listed = [document_dict(d) for d in docs[:MAX_DOCS]]
    heading = f"{len(docs)} new document{'s' if len(docs) != 1 else ''} on telecom vendor bans"
    text = "\n".join([heading + ":", *(f"• {_line(d, False)}" for d in listed)])
    blocks: list[dict] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{heading}*"}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": _line(d, True)}}
               for d in listed[:MAX_BLOCK_DOCS]]
    if len(docs) > MAX_BLOCK_DOCS:
        more = f"and {len(docs) - MAX_BLOCK_DOCS} more"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return {"text": text, "blocks": blocks, "documents": listed}


def discord_message(docs: Sequence[Document]) -> dict:
    """A Discord channel message: plain lines (Markdown escaped, links without previews), under
    2000 characters, pinging no one."""
    listed = [document_dict(d) for d in docs[:MAX_DOCS]]
    heading = f"**{len(docs)} new document{'s' if len(docs) != 1 else ''} on telecom vendor bans**"
    lines = [heading]
    for d in listed:
        facts = " · ".join(f for f in [d["outlet"], d["published"] or "undated",
                                       ", ".join(d["countries"])] if f)
        line = f"• {d['title'].translate(_DISCORD_MARKDOWN)} ({facts.translate(_DISCORD_MARKDOWN)})"
        line += f" <{d['url']}>" if d["url"].startswith(("https://", "http://")) else ""
        more = f"… and {len(docs) - len(lines) + 1} more"
        if sum(len(x) + 1 for x in [*lines, line, more]) > DISCORD_CONTENT_MAX:
            lines.append(more)
            break
        lines.append(line)
    return {"content": "\n".join(lines)[:DISCORD_CONTENT_MAX], "allowed_mentions": {"parse": []}}


def deliver(url: str, payload: dict, settings: Settings) -> str:
    """POST `payload` to a webhook: "" once accepted, else why it was given up."""
    backend = GuardedBackend(settings.allow_private_urls, DEADLINE)
    with httpx.Client(transport=GuardedTransport(backend), timeout=_timeout(),
                      follow_redirects=False, headers={"User-Agent": USER_AGENT}) as client:
        return _post(client, url, payload, lambda: backend.deadline - time.monotonic())


def post_to_channel(sub: Subscription, docs: Sequence[Document], settings: Settings) -> str:
    """Post the alert to a subscribed channel with the bot token (Slack chat.postMessage, Discord
    create message): "" once accepted, else why it was given up. The APIs are the configured
    ones (`slack_api_url`, `discord_api_url`), not addresses from users."""
    if sub.platform == "slack":
        token, kind = settings.slack_bot_token.get_secret_value(), "Bearer"
        url = f"{settings.slack_api_url.rstrip('/')}/chat.postMessage"
        payload = {k: v for k, v in message(docs).items() if k != "documents"}
        payload["channel"] = sub.channel
    else:
        token, kind = settings.discord_token.get_secret_value(), "Bot"
        url = f"{settings.discord_api_url.rstrip('/')}/channels/{sub.channel}/messages"
        payload = discord_message(docs)
    if not token:
        return f"no {sub.platform} bot token is set"
    ends = time.monotonic() + DEADLINE
    with httpx.Client(timeout=_timeout(), follow_redirects=False,
                      headers={"User-Agent": USER_AGENT,
                               "Authorization": f"{kind} {token}"}) as client:
        return _post(client, url, payload, lambda: ends - time.monotonic())


def _timeout() -> httpx.Timeout:
    return httpx.Timeout(DEADLINE, connect=min(10.0, DEADLINE))


def _post(client: httpx.Client, url: str, payload: dict, left: Callable[[], float]) -> str:
    """POST with retries and backoff while `left()` seconds remain: "" once accepted."""
    problem = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = client.post(url, json=payload)
            problem, retry = _refused(response)
            if not problem:
                return ""
        except AddressError as exc:
            return str(exc)
        except NOT_SENT as exc:
            problem, retry = f"cannot connect ({type(exc).__name__})", True
        except httpx.HTTPError as exc:  # sent, maybe received: never post it twice
            return f"may not have arrived ({type(exc).__name__}); not sent again"
        log.warning("alert to %s failed (attempt %d of %d): %s",
                    where(url), attempt, ATTEMPTS, problem)
        delay = BACKOFF * 2 ** (attempt - 1)
        if not retry or attempt == ATTEMPTS or left() < delay:
            break
        time.sleep(delay)
    return f"{problem} after {attempt} attempt{'s' if attempt > 1 else ''}"


def _refused(response: httpx.Response) -> tuple[str, bool]:
    """('', _) when accepted, else (what went wrong, whether a retry may help); Slack's Web API
    says no with 200 and `ok: false`."""
    status = response.status_code
    if status >= 300:
        return f"HTTP {status}", status in (408, 429) or status >= 500
    try:
        body = response.json()
    except ValueError:
        return "", False
    if isinstance(body, dict) and body.get("ok") is False:
        error = str(body.get("error", "unknown error"))
        return f"Slack error {error}", error in ("ratelimited", "service_unavailable")
    return "", False


def send_alerts(docs: Sequence[Document], settings: Settings) -> tuple[int, list[str]]:
    """Tell each matching subscription about new documents: (messages sent, failure lines).

    Never raises: an alert that cannot be sent must not fail the ingest that wrote the documents.
    """
    sent, failures = 0, []
    try:
        subs = Subscriptions(settings).all() if docs else []
    except BotError as exc:
        return 0, [f"alerts not sent: {exc}"]
    for sub in subs:
        wanted = [d for d in docs if matches(sub, d)]
        if not wanted:
            continue
        try:
            problem = (post_to_channel(sub, wanted, settings) if sub.channel
                       else deliver(sub.webhook, message(wanted), settings))
        except Exception as exc:  # whatever went wrong, the ingest goes on
            log.exception("alert for subscription %s failed", sub.id)
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            failures.append(f"alert for subscription {sub.id} to {sub.target()} "
                            f"not delivered: {problem}")
            log.error("%s", failures[-1])
        else:
            sent += 1
    return sent, failures

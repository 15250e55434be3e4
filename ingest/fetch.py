"""Safe HTTP fetching for URL and feed sources: bounded size, bounded redirects, no private hosts.

A chat user may one day hand the bot a URL, so every hop is checked: the host is resolved and each
address must be public (unless `allow_private_urls`), the connected peer is checked again (DNS can
change between the check and the connection), redirects are followed by hand and re-checked.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from bot.core.config import Settings
from bot.core.errors import IngestError

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "vendorban/0.1 (+https://github.com/vendorban)"
TEXT_TYPES = frozenset({
    "text/html", "application/xhtml+xml", "text/plain", "text/markdown", "application/pdf",
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
    "text/xml", "application/feed+json",
})
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Fetched:
    """A fetched response body and what it is (no volatile values such as fetch time)."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    content: bytes
    media_type: str  # e.g. "text/html", lower case, without parameters
    charset: str | None = None
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False  # a conditional request answered 304

    def text(self) -> str:
        """The body decoded with the declared charset, else UTF-8, else Windows-1252."""
        if self.charset:
            try:
                return self.content.decode(self.charset, errors="replace")
            except LookupError:  # an unknown charset name in the header
                pass
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            return self.content.decode("cp1252", errors="replace")


def is_public(ip: IPAddress) -> bool:
    """An address on the public internet (not private, loopback, link-local, reserved...)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
                or ip.is_reserved or ip.is_unspecified)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address a host name resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise IngestError(f"cannot resolve host {host!r}") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def check_url(url: str, allow_private: bool) -> None:
    """IngestError unless `url` is http(s) and every address of its host is allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IngestError(f"{url}: only http:// and https:// URLs can be fetched")
    if allow_private:
        return
    try:
        addresses = resolve(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except IngestError as exc:
        raise IngestError(f"{url}: {exc}") from exc
    except ValueError as exc:  # a port out of range
        raise IngestError(f"{url}: not a valid URL ({exc})") from exc
    for ip in addresses:
        if not is_public(ip):
            host = parts.hostname if parts.hostname == str(ip) else f"{parts.hostname} ({ip})"
            raise IngestError(f"{url}: refused, {host} is a private or local address; "
                              "set VENDORBAN_ALLOW_PRIVATE_URLS=true to allow it")


def _check_peer(response: httpx.Response, url: str, allow_private: bool) -> None:
    """Refuse a response whose connected peer is private (DNS rebinding after check_url)."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    if allow_private or not peer:
        return
    if not is_public(ipaddress.ip_address(str(peer[0]).split("%")[0])):
        raise IngestError(f"{url}: refused, it connected to a private or local address")


def fetch(url: str, settings: Settings, etag: str = "", last_modified: str = "") -> Fetched:
    """GET a text-like URL safely; IngestError (naming the URL) for anything unusable."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,"
               "application/pdf,application/rss+xml,application/atom+xml,text/*;q=0.8"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    # trust_env=False: an environment proxy would connect on our behalf and bypass the checks
    with httpx.Client(timeout=settings.fetch_timeout, follow_redirects=False,
                      trust_env=False, headers=headers) as client:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            check_url(current, settings.allow_private_urls)
            fetched, location = _get(client, url, current, settings)
            if fetched is not None:
                return fetched
            current = location
    raise IngestError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _get(client: httpx.Client, url: str, current: str,
         settings: Settings) -> tuple[Fetched | None, str]:
    """One hop: (the response, "") or (None, the next URL) for a redirect."""
    try:
        with client.stream("GET", current) as response:
            _check_peer(response, url, settings.allow_private_urls)
            if response.status_code in REDIRECTS:
                location = response.headers.get("location", "")
                if not location:
                    raise IngestError(f"{url}: redirect without a Location header")
                return None, urljoin(current, location)
            return _read(response, url, current, settings.fetch_max_bytes), ""
    except httpx.TimeoutException as exc:
        raise IngestError(f"{url}: timed out after {settings.fetch_timeout:g} s") from exc
    except httpx.HTTPError as exc:
        raise IngestError(f"{url}: cannot fetch ({type(exc).__name__}: {exc})") from exc


def _read(response: httpx.Response, url: str, current: str, max_bytes: int) -> Fetched:
    """Check status and type, then read the body, stopping as soon as it exceeds `max_bytes`."""
    meta = {"etag": response.headers.get("etag", ""),
            "last_modified": response.headers.get("last-modified", "")}
    if response.status_code == 304:
        return Fetched(url, current, b"", "", None, not_modified=True, **meta)
    if response.status_code >= 400:
        raise IngestError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".strip())
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in TEXT_TYPES:
        raise IngestError(f"{url}: not a text document (content type {media_type or 'missing'})")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise IngestError(f"{url}: too large ({int(declared)} bytes; limit {max_bytes})")
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > max_bytes:
            raise IngestError(f"{url}: too large (over {max_bytes} bytes)")
    return Fetched(url, current, bytes(body), media_type, response.charset_encoding, **meta)

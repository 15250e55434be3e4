"""Safe HTTP fetching for URL and feed sources: bounded size, time and redirects, no private hosts.

A chat user may one day hand the bot a URL, so every connection goes through `GuardedBackend`: it
resolves the host once, refuses it unless every address passes `ingest.addresses` (unless
`allow_private_urls`), and connects to exactly the address it checked, before any byte of a request
is sent (no window for DNS rebinding). Redirects are followed by hand, each hop connecting through
the same backend. One deadline bounds the whole fetch, redirects included: every network
operation gets only the time left, so a server trickling bytes cannot keep a fetch alive.
"""

from __future__ import annotations

import logging
import time
import typing
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from bot.core.config import Settings
from bot.core.errors import IngestError
from ingest.addresses import AddressError, allowed_addresses

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "vendorban/0.1 (+https://github.com/vendorban)"
TEXT_TYPES = frozenset({
    "text/html", "application/xhtml+xml", "text/plain", "text/markdown", "application/pdf",
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
    "text/xml", "application/feed+json",
})


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


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, connecting only to checked addresses and keeping one deadline."""

    def __init__(self, allow_private: bool, seconds: float) -> None:
        self.allow_private = allow_private
        self.deadline = time.monotonic() + seconds

    def time_left(self, timeout: float | None, late: type[Exception]) -> float:
        """The next operation's timeout: the phase's, capped by what is left of the deadline."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise late("the fetch deadline passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        failure: Exception = httpcore.ConnectError(f"no address for {host}")
        for ip in allowed_addresses(host, port, self.allow_private):
            left = self.time_left(timeout, httpcore.ConnectTimeout)
            try:  # an address literal: the kernel connects where we checked, no second lookup
                stream = super().connect_tcp(str(ip), port, left, local_address, socket_options)
                return DeadlineStream(stream, self)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure


class DeadlineStream(httpcore.NetworkStream):
    """A connected stream whose reads, writes and TLS handshake end by the fetch's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, backend: GuardedBackend) -> None:
        self.stream = stream
        self.backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self.backend.time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self.backend.time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        left = self.backend.time_left(timeout, httpcore.ConnectTimeout)
        secured = self.stream.start_tls(ssl_context, server_hostname, left)
        return DeadlineStream(secured, self.backend)

    def get_extra_info(self, info: str) -> typing.Any:
        return self.stream.get_extra_info(info)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a `GuardedBackend` (no proxies: one would connect on our behalf)."""

    def __init__(self, backend: GuardedBackend) -> None:
        super().__init__(trust_env=False)
        # httpx has no public way to hand httpcore a network backend: replace the pool it built.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             network_backend=backend)


def check_url(url: str) -> None:
    """IngestError unless `url` is an http(s) URL with a host and a valid port."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IngestError(f"{url}: only http:// and https:// URLs can be fetched")
    try:
        parts.port  # noqa: B018 -- raises for a port out of range
    except ValueError as exc:
        raise IngestError(f"{url}: not a valid URL ({exc})") from exc


def fetch(url: str, settings: Settings, etag: str = "", last_modified: str = "") -> Fetched:
    """GET a text-like URL safely; IngestError (naming the URL) for anything unusable."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,"
               "application/pdf,application/rss+xml,application/atom+xml,text/*;q=0.8"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    backend = GuardedBackend(settings.allow_private_urls, settings.fetch_timeout)
    with httpx.Client(transport=GuardedTransport(backend), timeout=settings.fetch_timeout,
                      follow_redirects=False, headers=headers) as client:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            check_url(current)
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
            if response.status_code in REDIRECTS:
                location = response.headers.get("location", "")
                if not location:
                    raise IngestError(f"{url}: redirect without a Location header")
                return None, urljoin(current, location)
            return _read(response, url, current, settings.fetch_max_bytes), ""
    except AddressError as exc:
        raise IngestError(f"{url}: {exc}") from exc
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

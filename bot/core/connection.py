"""Reaching Chroma: an embedded PersistentClient or a server's HttpClient, and which failures mean
"the index cannot be reached" (every other exception is a bug and travels on as one)."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

from bot.core.config import Settings
from bot.core.errors import BotError, IndexReplacedError, IndexUnavailableError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def unavailable(settings: Settings, exc: BaseException) -> IndexUnavailableError:
    """The user-facing error for an index that cannot be reached."""
    where = f" (Chroma server at {settings.chroma_url})" if settings.chroma_url else ""
    return IndexUnavailableError(
        f"The index{where} is unavailable right now; try again shortly. ({type(exc).__name__})"
    )


def is_unreachable(exc: BaseException) -> bool:
    """True for errors that mean the Chroma server cannot be reached (not a bad request)."""
    import httpx

    seen: BaseException | None = exc
    while seen is not None:  # chromadb re-raises some as ValueError(str(e)) inside `except`
        if isinstance(seen, httpx.TransportError | ConnectionError | TimeoutError):
            return True  # httpx.TimeoutException is a TransportError: a frozen server lands here
        if "could not connect to a chroma server" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_stale_view(settings: Settings, exc: BaseException) -> bool:
    """True when an embedded client's in-memory vectors lag what another process wrote: Chroma
    then fails to find the new chunks' ids (reopening the client reads them from disk)."""
    from chromadb.errors import InternalError

    return not settings.chroma_url and isinstance(exc, InternalError)


def index_error(settings: Settings, exc: Exception) -> BotError | None:
    """The user-facing error for a Chroma failure that is not a bug, else None."""
    from chromadb.errors import NotFoundError

    if isinstance(exc, NotFoundError):  # our collection was deleted: replaced by a rebuild
        return IndexReplacedError()
    if is_unreachable(exc):
        return unavailable(settings, exc)
    return None


def connect(settings: Settings, fresh: bool = False) -> ClientAPI:
    """An embedded PersistentClient, or an HttpClient when `chroma_url` is set.

    `fresh`: an embedded client that reads the files again instead of the one chromadb keeps
    per path for the whole process (see `forget_embedded`), with a system of its own that
    `retire` can stop.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_url:
        try:
            return _http_client(settings)
        except BotError:
            raise
        except Exception as exc:
            if is_unreachable(exc):
                raise unavailable(settings, exc) from exc
            raise
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if fresh:
        forget_embedded(settings)
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    client = chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)
    if fresh:  # the caller's alone: no later client shares it, so the caller may stop it
        forget_embedded(settings)
    return client


def forget_embedded(settings: Settings) -> None:
    """Make the next PersistentClient for this path a new one.

    chromadb shares one client system per path in a process, and that system holds the vector
    index in memory as it was when opened: chunks another process (`vendorban ingest`, `watch`)
    wrote later stay invisible to it, and reading them fails with "Error finding id" until the
    process restarts. Clients already open keep their system until they are dropped.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(settings.chroma_path), None)


def retire(client: Any, after: float) -> None:
    """Stop a fresh embedded client's system `after` seconds from now, once the calls that
    still hold its collections are over (its files, threads and memory are not freed when the
    client is merely dropped: repeated reopens leak open files and memory)."""
    system = getattr(getattr(client, "_server", None), "_system", None)
    if system is not None:
        timer = threading.Timer(after, system.stop)
        timer.daemon = True
        timer.start()


def _http_client(settings: Settings) -> Any:
    from urllib.parse import urlparse

    from chromadb.config import Settings as ChromaSettings

    url = urlparse(settings.chroma_url)
    chroma_settings = ChromaSettings(
        anonymized_telemetry=False, allow_reset=False,
        chroma_api_impl="chromadb.api.fastapi.FastAPI",
        chroma_server_host=url.hostname or "127.0.0.1",
        chroma_server_http_port=url.port or (443 if url.scheme == "https" else 8000),
        chroma_server_ssl_enabled=url.scheme == "https",
    )
    return _bounded_client_class()(settings=chroma_settings, timeout=settings.chroma_timeout)


@functools.cache
def _bounded_client_class() -> type:
    """chromadb.HttpClient's class with a timeout on every request.

    chromadb builds its httpx session with `timeout=None`: a Chroma server that is stopped but
    still holds its port (SIGSTOP, a full disk, a stuck host) hung every question for minutes.
    The session is bounded before the constructor's first request (the user identity), and the
    admin client's (another session, used once to check the tenant) before that check.
    """
    import httpx
    from chromadb.api.client import Client

    def bound(server: Any, timeout: float) -> None:
        session = getattr(server, "_session", None)
        if isinstance(session, httpx.Client):
            session.timeout = httpx.Timeout(timeout)

    class BoundedHttpClient(Client):
        def __init__(self, settings: Any, timeout: float) -> None:
            self._timeout = timeout
            super().__init__(settings=settings)

        def get_user_identity(self) -> Any:
            bound(self._server, self._timeout)
            return super().get_user_identity()

        def _validate_tenant_database(self, tenant: str, database: str) -> None:
            bound(self._admin_client._server, self._timeout)
            super()._validate_tenant_database(tenant=tenant, database=database)

    return BoundedHttpClient

"""The last line at the HTTP edge: an unhandled error is logged and answered 500, connection kept.

Starlette's outermost handler answers 500 and then re-raises, so that the server can log it;
uvicorn, seeing the error after the response, drops the kept-alive connection, and the client's
next request on it fails. This middleware sits just inside that handler and does not re-raise.
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
BODY = json.dumps({"error": "Internal error; please try again later."}).encode()


class CrashGuard:
    """ASGI middleware: an unhandled exception becomes a logged 500 JSON reply."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception("unhandled error on %s", scope.get("path", "?"))
            if started:  # half a response is out: only closing the connection can end it
                raise
            await send({"type": "http.response.start", "status": 500,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(BODY)).encode())]})
            await send({"type": "http.response.body", "body": BODY})

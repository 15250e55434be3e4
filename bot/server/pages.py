"""The web page for trying the bot in a browser, and the health and readiness probes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse

from bot.chat.services import Services
from bot.core.errors import BotError

PAGE = Path(__file__).with_name("static") / "index.html"


def content_security_policy(page: str) -> str:
    """A CSP that allows exactly the page's own inline script and style (by hash), nothing else."""
    def hashes(tag: str) -> str:
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", page, flags=re.DOTALL)
        return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
                        for b in bodies)

    return (f"default-src 'none'; script-src {hashes('script')}; style-src {hashes('style')}; "
            "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


def build_router(services: Services) -> APIRouter:
    """GET /, /healthz and /readyz."""
    page = PAGE.read_text(encoding="utf-8")
    headers = {"Content-Security-Policy": content_security_policy(page),
               "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
    router = APIRouter(tags=["page and probes"])

    @router.get("/", response_class=HTMLResponse, summary="Web page to ask questions")
    async def index() -> HTMLResponse:
        return HTMLResponse(page, headers=headers)

    @router.get("/healthz", summary="The process is up")
    async def healthz() -> dict:
        return {"status": "ok", "worker": os.getpid()}

    @router.get("/readyz", summary="Index open and non-empty, model loaded")
    async def readyz() -> JSONResponse:
        if not services.model_ready.is_set():
            reason = services.startup_problem or "loading the model"
            return JSONResponse({"status": "starting", "reason": reason}, 503)
        if not services.warmed.is_set():
            return JSONResponse({"status": "starting", "reason": "building the search index"},
                                503)
        try:  # off the core's pool: a probe must answer while questions are being worked on
            stats = await asyncio.to_thread(services.assistant.stats)
        except Exception as exc:  # noqa: BLE001 - a broken index is "not ready", whatever the cause
            reason = str(exc) if isinstance(exc, BotError) else "the index cannot be read"
            return JSONResponse({"status": "unavailable", "reason": reason}, 503)
        if not stats["chunks"]:
            return JSONResponse({"status": "empty", "reason": "the index is empty"}, 503)
        return JSONResponse({"status": "ready", **stats, "worker": os.getpid()})

    return router

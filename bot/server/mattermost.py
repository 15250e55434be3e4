"""Mattermost adapter: token-checked slash commands, Markdown replies through response_url."""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, HTTPException, Request

from bot.chat.services import Services
from bot.chat.workload import Workload
from bot.server import render_markdown
from bot.server.forms import parse_form
from bot.server.slash import answer_slash_command

log = logging.getLogger(__name__)


def build_router(services: Services, workload: Workload) -> APIRouter:
    """Routes under /mattermost for an app whose command token is configured."""
    settings = services.settings
    expected = settings.mattermost_token.get_secret_value().encode()
    router = APIRouter(prefix="/mattermost", tags=["mattermost"])

    @router.post("/commands", summary="Mattermost slash command")
    async def slash_command(request: Request) -> dict:
        body = await request.body()
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "token ":
            supplied = header[6:].strip()
        else:  # the token also comes as a form field; an unparsable body cannot prove anything
            try:
                supplied = parse_form(body).get("token", "")
            except HTTPException:
                supplied = ""
        if not hmac.compare_digest(supplied.encode(), expected):
            log.warning("rejected a Mattermost command: wrong or missing token")
            raise HTTPException(401, "Invalid command token.")
        form = parse_form(body, required=("user_id", "response_url"))
        return answer_slash_command(services, workload, form, "mattermost",
                                    render_markdown.render, render_markdown.searching)

    return router


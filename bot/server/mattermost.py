"""Mattermost adapter: token-checked slash commands, Markdown replies through response_url."""

from __future__ import annotations

import hmac
import logging
import math

from fastapi import APIRouter, HTTPException, Request

from bot.server import render_markdown
from bot.server.commands import ChatRequest, command_name, execute, immediate_reply, parse_request
from bot.server.forms import parse_form
from bot.server.services import Services

log = logging.getLogger(__name__)


def build_router(services: Services) -> APIRouter:
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
        command = command_name(form.get("command", ""))
        wait = services.limiter.hit(f"mattermost:{form.get('team_id', '')}:{form['user_id']}")
        if wait:
            return {"response_type": "ephemeral",
                    "text": f"You are asking too fast; try again in {math.ceil(wait)} s."}
        chat = parse_request(form.get("text", ""))
        ready = immediate_reply(chat, settings.max_question_chars)
        if ready:
            return render_markdown.render(ready, command)
        services.delivery.spawn(_answer_later(services, chat, form["response_url"], command),
                                name="mattermost response_url delivery")
        return render_markdown.searching(form.get("text", ""))

    return router


async def _answer_later(services: Services, chat: ChatRequest, response_url: str,
                        command: str) -> None:
    reply = await services.run_core(execute, services.assistant, chat)
    await services.delivery.post(response_url, render_markdown.render(reply, command))

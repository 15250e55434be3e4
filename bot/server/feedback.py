"""`POST /api/feedback`: a vote ("up"/"down") and an optional comment on an answer by its id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field

from bot.chat.services import Services
from bot.core.usage import MAX_COMMENT_CHARS

log = logging.getLogger(__name__)


class FeedbackRequest(BaseModel):
    """A vote on an answer given earlier (its `answer_id` came with the answer)."""

    model_config = ConfigDict(extra="forbid")
    answer_id: str = Field(min_length=1, max_length=128, description="From the answer.")
    vote: Literal["up", "down"] = Field(description="up: helpful; down: wrong or missing.")
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS,
                                description="What was wrong or missing (optional).")


class FeedbackResponse(BaseModel):
    """The vote as stored; a later vote on the same answer replaces it."""

    answer_id: str
    vote: str
    recorded: bool


def add_feedback_route(router: APIRouter, services: Services,
                       throttle: Callable[[Request], None]) -> None:
    """Add `POST /feedback` to the API router (its auth applies; same rate limit as /ask)."""

    @router.post("/feedback", response_model=FeedbackResponse, dependencies=[Depends(throttle)],
                 responses={400: {"description": "Bad vote, comment too long or malformed"},
                            404: {"description": "No answer with that id"},
                            503: {"description": "Feedback cannot be stored right now"}})
    async def feedback(body: FeedbackRequest) -> dict:
        """Vote on an answer: helpful (up) or not (down), with an optional comment."""
        try:  # not the core's pool: a vote must not queue behind questions being answered
            known = await asyncio.to_thread(services.usage.vote, body.answer_id, body.vote,
                                            body.comment or "")
        except Exception:
            log.warning("could not store a vote", exc_info=True)
            raise HTTPException(503, "Feedback cannot be stored right now; try again later.",
                                headers={"Retry-After": "30"}) from None
        if not known:
            raise HTTPException(404, "No answer with that answer_id: it is unknown or older than "
                                     "the usage log keeps.")
        return {"answer_id": body.answer_id, "vote": body.vote, "recorded": True}

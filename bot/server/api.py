"""JSON API: `POST /api/ask` returns a cited answer; optional bearer token, per-IP rate limit."""

from __future__ import annotations

import hmac
import math
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.chat.services import Services
from bot.chat.workload import BUSY, RESTARTING, Restarting, Workload
from bot.core.conversation_store import CONVERSATION_ID, ask_followup
from bot.core.dates import parse_partial_date
from bot.core.retrieval import Filters
from bot.core.types import AnswerKind
from bot.render.data import answer_to_dict
from bot.server.feedback import add_feedback_route

WRONG_TOKENS_PER_MINUTE = 10  # per client address; past it every request is refused for a while


class AskFilters(BaseModel):
    """Metadata restrictions; every field optional."""

    model_config = ConfigDict(extra="forbid")
    country: str | None = Field(None, max_length=80, description="Only sources about this country.")
    vendor: str | None = Field(None, max_length=80, description="Only sources about this vendor.")
    kind: Literal["article", "statement"] | None = Field(None, description="Only this kind.")
    since: str | None = Field(None, max_length=10, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$",
                              description="Published on or after: YYYY-MM-DD, YYYY-MM or YYYY.")
    until: str | None = Field(None, max_length=10, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$",
                              description="Published on or before: YYYY-MM-DD, YYYY-MM or YYYY.")

    @field_validator("since", "until")
    @classmethod
    def _a_real_date(cls, value: str | None) -> str | None:
        parse_partial_date(value)  # ValueError ("2018-13") becomes a 422 naming the field
        return value

    def as_filters(self) -> Filters:
        """The core's filters, dates read as (possibly partial) dates."""
        fields = self.model_dump()
        for key in ("since", "until"):
            fields[key] = parse_partial_date(fields[key])
        return Filters(**fields)


class AskRequest(BaseModel):
    """A question and optional filters."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(description="The question, in plain words.")
    filters: AskFilters | None = None
    conversation: str | None = Field(
        None, pattern=CONVERSATION_ID.pattern,
        description="Any id of yours (1-128 letters, digits, . _ : @ / + = -): questions sent "
                    "with the same id are a conversation, and a follow-up in it is answered as "
                    "the standalone question it stands for.")


class CitationOut(BaseModel):
    """A numbered source: the cited passage, its offsets in the document, where it came from."""

    number: int
    document: str
    chunk: str
    title: str
    outlet: str
    published: str
    url: str
    source: str
    page: int | None
    passage: str
    start: int
    end: int
    also_in: list[dict]


class ItemOut(BaseModel):
    """One statement of the answer, with the numbers of the citations that vouch for it."""

    text: str
    citations: list[int]
    speaker: str = Field(description="Whose words these are (speaker answers, people lists).")
    role: str = Field(description="The speaker's role as the texts give it.")
    date: str = Field(description="The source's date, when the answer is dated.")
    label: str = Field(description="A list item's label: the country, person or date.")


class QuoteOut(BaseModel):
    """Verbatim words of a speaker, with document offsets."""

    speaker: str
    text: str
    chunk: str
    start: int
    end: int


class AskResponse(BaseModel):
    """An answer: `items` (each citing numbers of `citations`) and `answer`, the same as plain
    text with [n] markers; `found` false: not in the corpus."""

    question: str
    answer: str
    found: bool
    kind: AnswerKind
    heading: str = Field(description="The line shown above the items (speaker answers), or \"\".")
    items: list[ItemOut]
    answerer: str
    citations: list[CitationOut]
    quotes: list[QuoteOut]
    answer_id: str | None = Field(None, description="For POST /api/feedback; null when the "
                                                     "server records no answers.")
    standalone_question: str = Field(description="The question answered: a follow-up rewritten "
                                                 "from its conversation, else the question.")


def build_router(services: Services, workload: Workload) -> APIRouter:
    """The /api routes."""
    token = services.settings.api_token.get_secret_value().encode()
    wrong_tokens = services.rate_limiter(WRONG_TOKENS_PER_MINUTE, "wrong-token")

    def authorise(request: Request) -> None:
        if not token:
            return
        client = request.client.host if request.client else "?"
        wait = wrong_tokens.waiting(client)  # refused before the check: no guessing at speed
        if wait:
            raise HTTPException(429, "Too many wrong tokens; try again in "
                                     f"{math.ceil(wait)} s.",
                                headers={"Retry-After": str(math.ceil(wait))})
        scheme, _, supplied = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                supplied.strip().encode("utf-8", "surrogateescape"), token):
            wrong_tokens.hit(client)
            raise HTTPException(401, "A valid bearer token is required.",
                                headers={"WWW-Authenticate": "Bearer"})

    def throttle(request: Request) -> None:
        wait = services.limiter.hit(f"api:{request.client.host if request.client else '?'}")
        if wait:
            raise HTTPException(429, f"Too many requests; try again in {math.ceil(wait)} s.",
                                headers={"Retry-After": str(math.ceil(wait))})

    router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(authorise)])

    @router.post("/ask", response_model=AskResponse, dependencies=[Depends(throttle)],
                 responses={400: {"description": "Bad input"}, 401: {"description": "No token"},
                            413: {"description": "Body too large"},
                            429: {"description": "Slow down"},
                            503: {"description": "Busy, restarting, or index empty or "
                                                 "unavailable (Retry-After when busy)"}})
    async def ask(body: AskRequest, response: Response) -> dict:
        """Answer a question from the corpus, with numbered citations."""
        filters = body.filters.as_filters() if body.filters else None
        job = workload.admit()
        if job is None:
            raise HTTPException(503, RESTARTING if workload.draining else BUSY,
                                headers={"Retry-After": str(workload.retry_after())})
        async with job:
            try:
                answer, answer_id, turn = await job.run(
                    ask_followup, services.assistant, services.usage, services.conversations,
                    body.conversation, body.question, filters, "api")
            except Restarting:
                raise HTTPException(503, RESTARTING, headers={"Retry-After": "30"}) from None
        response.headers["Cache-Control"] = "no-store"
        return answer_to_dict(answer) | {"question": turn.question, "answer_id": answer_id,
                                         "standalone_question": turn.standalone}

    add_feedback_route(router, services, throttle)
    return router

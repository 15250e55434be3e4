"""Property: whatever arrives at the API, Slack or Discord endpoints, signed or not, well formed or
not, the real server answers below 500 (a bounded number of generated requests per endpoint)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from tests.server_support import SLACK_SECRET

pytest_plugins = ["tests.server_fixtures"]  # the serve and receiver fixtures

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SCALAR = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
          | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30))
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=10)
HEADER = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=70)
QUESTION = st.sampled_from(["What did Suga say?", "Which countries banned Huawei?", ""]) | st.text(
    max_size=120)


def as_body(value: object) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value).encode()


def slack_signed(body: bytes, stamp: str | None = None) -> dict:
    stamp = stamp or str(int(time.time()))
    digest = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:".encode() + body,
                      hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"}


def spoiled(headers: dict, which: str, value: str) -> dict:
    """The headers with one of them replaced by arbitrary Latin-1 text (as raw bytes)."""
    return headers | {which: value.encode("latin-1")} if which in headers else headers


@pytest.fixture
def live(serve):
    """One server for all the examples of a test."""
    return serve()


@pytest.fixture
def client():
    with httpx.Client(timeout=30) as http:
        yield http


@FUZZ
@given(body=st.binary(max_size=300) | JSON.map(as_body)
       | st.fixed_dictionaries({"question": QUESTION}, optional={
           "filters": st.dictionaries(st.sampled_from(["country", "vendor", "kind", "since",
                                                       "until", "other"]), SCALAR, max_size=3)})
       .map(as_body),
       authorization=st.none() | HEADER)
def test_the_api_never_answers_5xx(live, client, body, authorization):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization.encode("latin-1")
    assert client.post(f"{live.url}/api/ask", content=body, headers=headers).status_code < 500


MENTION = st.fixed_dictionaries({"type": st.just("app_mention"), "text": QUESTION | SCALAR,
                                 "user": SCALAR, "channel": SCALAR, "ts": SCALAR})
EVENT = st.fixed_dictionaries({"type": st.sampled_from(["event_callback", "url_verification"])
                               | SCALAR, "event_id": SCALAR, "team_id": SCALAR,
                               "event": JSON | MENTION})
SLACK_FIELDS = st.sampled_from(["team_id", "user_id", "command", "text", "response_url",
                                "channel_id", "trigger_id", "token", "user_name"])


@FUZZ
@given(form=st.binary(max_size=300)
       | st.dictionaries(SLACK_FIELDS, st.text(max_size=60), max_size=8).map(
           lambda fields: urlencode(fields).encode()),
       events=st.binary(max_size=300) | JSON.map(as_body) | EVENT.map(as_body),
       spoil=st.sampled_from(["", "X-Slack-Signature", "X-Slack-Request-Timestamp"]),
       junk=HEADER)
def test_slack_endpoints_never_answer_5xx(live, receiver, client, form, events, spoil, junk):
    form = form.replace(b"response_url=", b"response_url=" + receiver.url.encode() + b"/x")
    for path, body in (("/slack/commands", form), ("/slack/events", events)):
        headers = spoiled(slack_signed(body), spoil, junk)
        response = client.post(f"{live.url}{path}", content=body, headers=headers)
        assert response.status_code < 500, (path, body, headers)


@pytest.fixture
def discord(serve, discord_api):
    """One server with Discord HTTP interactions on: (live server, signing key)."""
    key = SigningKey.generate()
    return serve(discord_public_key=key.verify_key.encode().hex(),
                 discord_api_url=discord_api.url), key


OPTION = st.fixed_dictionaries({"name": st.sampled_from(["question", "speaker", "search", "page",
                                                        "private", "country"]) | SCALAR,
                                "value": JSON, "focused": st.booleans()})
INTERACTION = st.fixed_dictionaries(
    {"type": st.sampled_from([1, 2, 3, 4, 5]) | SCALAR, "id": st.uuids().map(str) | SCALAR},
    optional={"data": JSON | st.fixed_dictionaries(
        {"name": st.sampled_from(["ask", "quote", "sources", "about", "timeline"]) | JSON,
         "options": st.lists(OPTION, max_size=3) | JSON}),
        "token": st.text(max_size=40) | SCALAR, "application_id": SCALAR,
        "member": JSON, "user": JSON})


@FUZZ
@given(body=st.binary(max_size=300) | JSON.map(as_body) | INTERACTION.map(as_body),
       spoil=st.sampled_from(["", "X-Signature-Ed25519", "X-Signature-Timestamp"]), junk=HEADER)
def test_discord_interactions_never_answer_5xx(discord, client, body, spoil, junk):
    live, key = discord
    stamp = str(int(time.time()))
    headers = {"X-Signature-Ed25519": key.sign(stamp.encode() + body).signature.hex(),
               "X-Signature-Timestamp": stamp, "Content-Type": "application/json"}
    response = client.post(f"{live.url}/discord/interactions", content=body,
                           headers=spoiled(headers, spoil, junk))
    assert response.status_code < 500, (body, headers)

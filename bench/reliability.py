"""`python -m bench reliability`: the load, fault and fuzz campaign, on loopback only.

- serve: signed Slack commands flooded at a real `vendorban serve`, then SIGTERM
  (bench.reliability_serve): acknowledged vs answered, busy replies, lag, memory, 5xx.
- store: a second process ingesting while the server answers, and a frozen Chroma server
  (bench.reliability_store): 5xx during and after, new documents cited without a restart.
- ingest: ingest killed at random moments and run again vs a clean run (bench.reliability_ingest).
- fuzz: malformed and random requests to the JSON API, Slack and Discord endpoints: no 5xx.
Every loop is bounded in count and time.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from bench import reliability_ingest, reliability_serve, reliability_store

FUZZ_PATHS = ("/api/ask", "/slack/commands", "/slack/events", "/discord/interactions",
              "/mattermost/commands")


def _random_text(rng: random.Random, size: int) -> str:
    alphabet = ("abc XYZ 5G Huawei ?!.,\"'<>@&#*_`~[](){}\\\n\t\u200b\u202e\u0000é漢字🙂"
                "\ud800\udfff")
    return "".join(rng.choice(alphabet) for _ in range(size))


def _random_body(rng: random.Random) -> bytes:
    """A body from a family of malformed and odd inputs."""
    choice = rng.randrange(7)
    if choice == 0:
        return rng.randbytes(rng.randrange(0, 400))
    if choice == 1:
        return ("[" * rng.randrange(1, 2000)).encode()
    if choice == 2:  # a question of odd characters, lone surrogates escaped in JSON
        text = _random_text(rng, rng.randrange(0, 700))
        return json.dumps({"question": text}).encode()
    if choice == 3:
        return json.dumps({"question": rng.choice([5, None, [], {}, True, "x" * 100_000])}).encode()
    if choice == 4:
        filters = {rng.choice(["country", "vendor", "kind", "since", "until", "speaker", "zz"]):
                   rng.choice(["UK", "2018-13", "", "<@here>", 7, None, "2019", "Narnia"])}
        return json.dumps({"question": "Which countries banned Huawei?", "filters": filters}
                          ).encode()
    if choice == 5:
        return b"command=/ask&text=" + _random_text(rng, 50).encode("utf-8", "surrogatepass")
    return json.dumps(rng.choice([[], 1, "s", {"type": 2}, {"type": "x", "data": None}])).encode()


def fuzz(base: str, count: int, seconds: float, seed: int = 11) -> dict:
    """`count` random requests (bounded by `seconds`); status classes and 5xx by path."""
    rng = random.Random(seed)
    statuses: dict[str, int] = {}
    fivexx: dict[str, int] = {}
    deadline = time.monotonic() + seconds
    sent = 0
    with httpx.Client(timeout=60) as client:
        while sent < count and time.monotonic() < deadline:
            path = rng.choice(FUZZ_PATHS)
            headers = {"content-type": rng.choice(["application/json",
                                                   "application/x-www-form-urlencoded",
                                                   "text/plain"])}
            if rng.random() < 0.3:  # odd signature headers, non-ASCII bytes included
                signature = "v0=é" if rng.random() < 0.5 else "v0=00"
                headers["x-slack-signature"] = signature.encode()  # type: ignore[assignment]
                headers["x-signature-timestamp"] = "١٢٣".encode()  # type: ignore[assignment]
                headers["x-signature-ed25519"] = b"\xff" * 64  # type: ignore[assignment]
            try:
                reply = client.post(base + path, content=_random_body(rng), headers=headers)
                key = f"{reply.status_code // 100}xx"
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            statuses[key] = statuses.get(key, 0) + 1
            if key == "5xx":
                fivexx[path] = fivexx.get(path, 0) + 1
            sent += 1
    return {"sent": sent, **statuses, "5xx_by_path": fivexx or "none"}


def run_fuzz(quick: bool, work: Path) -> dict:
    data = work / "data"
    env = reliability_store._env(data)
    reliability_store._ingest(reliability_store.CORPUS, env)
    server = reliability_store._Server(env, work)
    try:
        server.wait_ready()
        return fuzz(server.url, count=500 if quick else 3000, seconds=120 if quick else 600)
    finally:
        server.stop()


def run_reliability(quick: bool) -> dict:
    """All four parts; each part's figures in its own table."""
    work = Path(tempfile.mkdtemp(prefix="vendorban-reliability-"))
    try:
        serve = reliability_serve.run(count=600 if quick else 3000, clients=20 if quick else 50,
                                      seconds=20.0 if quick else 60.0, grace=20.0)
        store = reliability_store.run(quick, work / "store")
        ingest = reliability_ingest.run(quick, work / "ingest")
        fuzzed = run_fuzz(quick, work / "fuzz")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    flat = [{"scenario": name, **values} for name, values in store.items()]
    return {"tables": {
        "signed Slack flood, then SIGTERM": [serve],
        "index with another writer / a frozen Chroma server": flat,
        "ingest killed at random moments, then run again": [ingest["crash"]],
        "sentence splitting of large inputs": ingest["splits"],
        "fuzzed requests (API, Slack, Discord, Mattermost)": [fuzzed],
    }}

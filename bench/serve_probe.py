"""A serving process for the cold-start and memory benchmarks: `python -m bench.serve_probe N`.

Reads its settings from the environment like `vendorban serve`, answers the bench questions, and
prints one JSON line: the wall-clock time of the first answer (the parent knows when it started
the process: psutil's create_time counts from boot time in whole seconds, up to 1 s off), and
peak RSS (VmHWM).
"""

from __future__ import annotations

import json
import sys
import time


def peak_rss_mb() -> float:
    """The process's peak resident set size, from /proc (VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(rounds: int) -> None:
    from bench.questions import QUESTIONS
    from bot.core.assistant import Assistant
    from bot.core.config import load_settings
    from bot.core.embeddings import get_embedder
    from bot.render.data import answer_to_dict

    settings = load_settings()
    assistant = Assistant(settings)
    json.dumps(answer_to_dict(assistant.ask(QUESTIONS[1])))  # not a speaker question: embeds
    first = time.time()  # wall clock: the parent subtracts the moment it started this process
    for n in range(rounds):
        json.dumps(answer_to_dict(assistant.ask(QUESTIONS[n % len(QUESTIONS)])))
    print(json.dumps({"first_answer_at": first, "peak_rss_mb": round(peak_rss_mb(), 1),
                      "backend": get_embedder(settings).backend,
                      "torch_imported": "torch" in sys.modules,
                      "chunks": assistant.stats()["chunks"]}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)

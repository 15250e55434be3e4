"""`python -m bench [NAME ...] [--quick]`: run benchmarks, print tables, write bench/results/."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
log = logging.getLogger("bench")


def registry() -> dict[str, Callable[[bool], dict]]:
    """Benchmarks by name, in the order a full run takes them."""
    from bench import (
        concurrency_bench,
        embedding_bench,
        ingest_bench,
        process_bench,
        query_bench,
        reliability,
        scale_bench,
    )

    return {
        "embedding": embedding_bench.run_embedding,
        "ingest": ingest_bench.run_ingest,
        "query": query_bench.run_query,
        "recall": query_bench.run_recall,
        "coldstart": process_bench.run_coldstart,
        "memory": process_bench.run_memory,
        "concurrency": concurrency_bench.run_concurrency,
        "reliability": reliability.run_reliability,
        "scale": scale_bench.run_scale,
    }


def main(argv: list[str] | None = None) -> int:
    names = ["embedding", "ingest", "query", "recall", "coldstart", "memory", "concurrency"]
    extra = ["reliability", "scale"]  # long; run by name
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: {', '.join(names)}; also by name: "
                             f"{', '.join(extra)})")
    parser.add_argument("--quick", action="store_true", help="small sizes: a few minutes in all")
    parser.add_argument("--size", type=int, metavar="N",
                        help="chunks in the scale bench's index (default 1,000,000; 20,000 with "
                             "--quick); its build resumes and grows in $VENDORBAN_BENCH_DIR")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(names) - set(extra))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; "
                     f"choose from {', '.join(names + extra)}")
    logging.basicConfig(level=logging.WARNING)
    from bench.report import save

    benches = registry()
    failed = []
    for name in args.names or names:
        started = time.perf_counter()
        print(f"\n### {name} ({'quick' if args.quick else 'full'})", flush=True)
        try:
            if name == "scale":
                result = benches[name](args.quick, args.size)
            else:
                result = benches[name](args.quick)
        except Exception:  # one broken benchmark must not hide the others' figures
            log.exception("benchmark %s failed", name)
            failed.append(name)
            continue
        result["seconds"] = round(time.perf_counter() - started, 1)
        path = save(name, result, args.quick)
        print(f"  ({result['seconds']} s; {path.relative_to(path.parents[2])})", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The finder's latency while clients loop on the heaviest endpoints (target p99 < 50 ms).

Serves the application with gunicorn on 127.0.0.1 (``webapp/gunicorn_conf.py``, as ``atlas
serve``; no rate limit, every client being 127.0.0.1), starts ``--heavy`` client processes
that each loop, as fast as the server answers, over the white zones (``/api/gaps``, GeoJSON
and CSV), the isochrones, the per-commune times and the yearly report (asking for gzip, as a
browser does), and meanwhile sends finder searches (``/api/nearest``) at a constant
``--rate`` (open loop, ``load_finder.python_client``). Prints the finder's p50/p99/max, the
rate achieved and how many heavy answers were served.

Heavy clients are paced at ``--heavy-rate`` (default: what the rate limit lets one client
do, 0.5 heavy request a second); ``--heavy-rate 0`` loops as fast as the server answers.
``--no-layer-cache`` sets ``LAYER_CACHE_MB=0``: every heavy request is computed again, as
before ``webapp.layers`` (the issue's measure), for a side-by-side comparison.

    .venv/bin/python benchmarks/bench_heavy.py                      # 2 heavy clients, 1,000 req/s
    .venv/bin/python benchmarks/bench_heavy.py --no-layer-cache     # the same without the cache
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
import urllib.request
from typing import Any

from load_common import HOST, database_url, free_port, gunicorn
from load_finder import python_client, request_paths

HEAVY_PATHS = (
    "/api/gaps",
    "/api/gaps?format=csv",
    "/api/isochrones?minutes=30",
    "/api/access/communes?format=csv",
    "/diagnostic/rapport/2026",
)
TARGET_P99_MS = 50.0


def heavy_loop(port: int, seconds: float, offset: int, counter: Any, rate: float) -> None:
    """Fetch the heavy paths in turn until ``seconds`` have passed, ``rate`` per second at
    most (0: as fast as the server answers)."""
    start = time.monotonic()
    deadline = start + seconds
    i = offset
    while time.monotonic() < deadline:
        if rate > 0:
            time.sleep(max(0.0, start + (i - offset) / rate - time.monotonic()))
        request = urllib.request.Request(
            f"http://{HOST}:{port}{HEAVY_PATHS[i % len(HEAVY_PATHS)]}", headers={"Accept-Encoding": "gzip"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
            with counter.get_lock():
                counter.value += 1
        except OSError:
            time.sleep(0.05)
        i += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--heavy", type=int, default=2, help="heavy client processes (default 2)")
    parser.add_argument(
        "--heavy-rate",
        type=float,
        default=0.5,
        help="requests per second of each heavy client (default 0.5: what the default rate limit, 300 hits "
        "a minute with 10 per heavy request, lets through; 0: as fast as the server answers)",
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="finder requests per second (default 1000)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of measure (default 20)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="finder client connections (default 32)")
    parser.add_argument("--no-layer-cache", action="store_true", help="LAYER_CACHE_MB=0 (the former behaviour)")
    args = parser.parse_args(argv)
    url = database_url()
    paths, has_times = request_paths(url)
    if not has_times:
        print("no travel times: run atlas refresh (or atlas access and atlas gaps) first")
        return 2
    port = free_port()
    config = {"LAYER_CACHE_MB": 0} if args.no_layer_cache else {}
    with gunicorn(url, workers=args.workers, port=port, config=config):
        for path in HEAVY_PATHS * (2 * args.workers):  # first computation in each worker, outside the measure
            urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=60).read()
        counter = multiprocessing.Value("i", 0)
        heavy = [
            multiprocessing.Process(target=heavy_loop, args=(port, args.duration + 2, n, counter, args.heavy_rate))
            for n in range(args.heavy)
        ]
        for process in heavy:
            process.start()
        time.sleep(1.0)
        result = python_client(port, paths, rate=args.rate, duration=args.duration, connections=args.connections)
        for process in heavy:
            process.join()
    achieved = result.requests / result.elapsed_s if result.elapsed_s else 0.0
    cache = "off (computed on every request)" if args.no_layer_cache else "on"
    pace = f"{args.heavy_rate:g} req/s each" if args.heavy_rate > 0 else "closed loop"
    print(f"layer cache {cache}; {args.heavy} heavy clients ({pace}), {args.workers} workers")
    print(f"heavy answers served: {counter.value} in {args.duration:.0f} s")
    print(
        f"finder: {result.requests} requests, {achieved:.0f} req/s (target {args.rate:.0f}), "
        f"{result.errors} errors, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, max {result.max_ms:.1f} ms "
        f"(target p99 < {TARGET_P99_MS:.0f} ms)"
    )
    return 0 if result.p99_ms < TARGET_P99_MS and not result.errors else 1


if __name__ == "__main__":
    sys.exit(main())

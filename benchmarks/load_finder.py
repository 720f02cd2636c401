"""Bounded loopback load test of the public finder's search (``GET /api/nearest``). Run on demand.

Usage::

    .venv/bin/python benchmarks/load_finder.py                   # paced at 1000 req/s for 10 s, every search
    .venv/bin/python benchmarks/load_finder.py --runs 5          # 5 measured runs on the same server
    .venv/bin/python benchmarks/load_finder.py --mix population  # searches drawn by commune population
    .venv/bin/python benchmarks/load_finder.py --no-result-cache # every search runs its SQL statement
    .venv/bin/python benchmarks/load_finder.py --client wrk      # closed loop: the server's capacity
    .venv/bin/python benchmarks/load_finder.py --client python   # Python open-loop client (no wrk)
    .venv/bin/python benchmarks/load_finder.py --worker-class sync # gunicorn's sync worker, for comparison

The script starts gunicorn itself on 127.0.0.1 as ``atlas serve`` does (same settings file
and application; a free port, never another address; no rate limit, no access log), waits for it, warms it up, sends a bounded number of
requests, stops gunicorn and prints the p50/p99 latency, the throughput and PASS/FAIL
against the target: **p99 < 5 ms at 1000 req/s on 2 cores**. Not a pytest test.

Searches (``--mix``):

- ``uniform`` (default, the worst case for the result cache): every commune of the
  Région x 5 filter mixes (no filter, a mission, a public, walking, mission + public),
  6,010 distinct searches in the pilot, rotated in a shuffled order;
- ``population``: communes drawn with a probability proportional to their population
  (people search from where they live), filters drawn uniformly from the same 5 mixes.

The database is ``DATABASE_URL``, else the project-local cluster; ``atlas access`` must
have run on it (otherwise the times fall back to straight-line distances and the
script says so).

Clients (``--client``):

- ``wrk-rate`` (default when wrk is installed): wrk held at ``--rate`` (see
  ``load_common.py``): the latency at that rate, and the rate actually achieved;
- ``wrk``: closed loop, ``--connections`` connections, as fast as the server answers
  (its capacity; latency there is mostly queueing behind the other connections);
- ``python``: an asyncio **open-loop** client at a constant arrival rate, latency from
  each request's *scheduled* time (no coordinated omission); it shares the 2 cores with
  the server, so its figures are pessimistic (its CPU use is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_common import (
    HOST,
    MAX_DURATION_S,
    WORKER_CLASSES,
    Result,
    database_url,
    free_port,
    gunicorn,
    wrk_closed,
    wrk_paced,
)

TARGET_P99_MS = 5.0
TARGET_RATE = 1000.0
MAX_REQUESTS = 200_000
FILTERS = ("", "&mission=conseil", "&public=jeunes", "&mode=walk", "&mission=accompagnement&public=demandeurs_emploi")


def request_paths(url: str, *, mix: str = "uniform", seed: int = 42, n: int = 100_000) -> tuple[list[str], bool]:
    """Search paths (see ``--mix``) and whether travel times exist."""
    from storage import db

    with db.connect(url) as conn:
        communes = conn.execute("SELECT code, population FROM commune ORDER BY code").fetchall()
        has_times = conn.execute("SELECT EXISTS (SELECT 1 FROM access_run)").fetchone() == (True,)
    if not communes:
        msg = "no commune in the database: run `atlas load` (and `atlas access`) first"
        raise SystemExit(msg)
    rng = random.Random(seed)
    if mix == "population":
        codes = rng.choices([c for c, _ in communes], weights=[max(p or 0, 1) for _, p in communes], k=n)
        return [f"/api/nearest?commune={code}&limit=10{rng.choice(FILTERS)}" for code in codes], has_times
    paths = [f"/api/nearest?commune={code}&limit=10{flt}" for code, _ in communes for flt in FILTERS]
    rng.shuffle(paths)
    return paths, has_times


# --------------------------------------------------------------------- Python client
async def _connection_loop(port: int, queue: asyncio.Queue, latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            scheduled, path = item
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\n\r\n".encode())
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            closing = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    closing = True
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - scheduled)
            if b" 200 " not in status_line:
                errors.append(1)
            if closing:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
    finally:
        writer.close()


async def _open_loop(
    port: int, paths: list[str], rate: float, n: int, connections: int
) -> tuple[list[float], int, float]:
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter() + 0.05
    # Requests are handed out in schedule order; an idle connection takes the next one.
    for i in range(n):
        queue.put_nowait((start + i / rate, paths[i % len(paths)]))
    for _ in range(connections):
        queue.put_nowait(None)
    tasks = [asyncio.create_task(_connection_loop(port, queue, latencies, errors)) for _ in range(connections)]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=MAX_DURATION_S + n / rate)
    return latencies, len(errors), time.perf_counter() - start


def python_client(port: int, paths: list[str], *, rate: float, duration: float, connections: int) -> Result:
    """Open-loop constant-rate load from this process."""
    n = min(MAX_REQUESTS, int(rate * duration))
    cpu_before = time.process_time()
    latencies, errors, elapsed = asyncio.run(_open_loop(port, paths, rate, n, connections))
    cpu = time.process_time() - cpu_before
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return Result("python (open loop)", len(ms), errors, elapsed, _pct(ms, 50), _pct(ms, 99), ms[-1], cpu)


def _pct(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    index = min(len(sorted_ms) - 1, max(0, round(q / 100 * len(sorted_ms)) - 1))
    return sorted_ms[index]


# --------------------------------------------------------------------- wrk client
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="requests per second (wrk-rate, python)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measured load (max 120)")
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="measured runs on the same server, one after the other (1-20); PASS needs every run",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (one per core)")
    parser.add_argument(
        "--worker-class",
        choices=WORKER_CLASSES,
        default="asgi",
        help="asgi: as atlas serve (default); sync or gthread: for comparison",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument(
        "--connections",
        type=int,
        default=0,
        help="concurrent connections (default: 16 for wrk-rate and python, 8 for wrk)",
    )
    parser.add_argument("--client", choices=("auto", "wrk-rate", "wrk", "python"), default="auto")
    parser.add_argument("--mix", choices=("uniform", "population"), default="uniform", help="which searches")
    parser.add_argument(
        "--warmup",
        type=float,
        default=-1.0,
        help="seconds of closed-loop load before measuring (default: about 1.2 passes over the "
        "distinct searches per worker, so that each worker's result cache is warm; 0: none)",
    )
    parser.add_argument("--distinct", type=int, default=0, help="use only the first N searches (0: all)")
    parser.add_argument(
        "--no-result-cache",
        action="store_true",
        help="disable the finder's result LRU (RESULT_CACHE_SIZE=0): every search runs its SQL",
    )
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION_S or not 0 < args.rate <= 20_000 or not 1 <= args.runs <= 20:
        parser.error(f"--duration must be in (0, {MAX_DURATION_S:g}], --rate in (0, 20000] and --runs in [1, 20]")
    client = args.client
    if client == "auto":
        client = "wrk-rate" if shutil.which("wrk") else "python"
    elif client.startswith("wrk") and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")
    connections = args.connections or (8 if client == "wrk" else 16)

    url = database_url()
    paths, has_times = request_paths(url, mix=args.mix)
    if args.distinct:
        paths = paths[: args.distinct]
    config = {"RESULT_CACHE_SIZE": 0} if args.no_result_cache else {}
    port = free_port()
    print(
        f"Atlas SPRO finder load test: GET /api/nearest on {HOST}:{port}, {os.cpu_count()} CPU(s), "
        f"gunicorn {args.workers} {args.worker_class} worker(s) x {args.threads} thread(s), client {client}, "
        f"mix {args.mix} ({len(set(paths)):,} distinct searches), result cache {'off' if args.no_result_cache else 'on'}"
    )
    if not has_times:
        print("NOTE: no accessibility run in this database (atlas access): the finder answers by straight line.")
    with gunicorn(
        url, workers=args.workers, worker_class=args.worker_class, threads=args.threads, port=port, config=config
    ):
        warmup = args.warmup
        if warmup < 0:  # each worker must see each search once: about 1.2 passes per worker at ~900 req/s
            warmup = 0.0 if args.no_result_cache else min(MAX_DURATION_S, 1.2 * len(set(paths)) * args.workers / 900)
        if warmup > 0:
            print(f"warm-up     {warmup:.0f} s of closed-loop load (not measured)")
            if shutil.which("wrk"):
                wrk_closed(port, paths, duration=warmup, connections=connections)
            else:
                python_client(port, paths, rate=args.rate / 2, duration=warmup, connections=connections)
        results = []
        for _run in range(args.runs):
            if client == "wrk":
                results.append(wrk_closed(port, paths, duration=args.duration, connections=connections))
            elif client == "wrk-rate":
                results.append(wrk_paced(port, paths, rate=args.rate, duration=args.duration, connections=connections))
            else:
                results.append(
                    python_client(port, paths, rate=args.rate, duration=args.duration, connections=connections)
                )
    verdicts = [
        _report(result, client=client, rate=args.rate, run=n + 1, runs=args.runs) for n, result in enumerate(results)
    ]
    if args.runs > 1:
        p99s = ", ".join(f"{result.p99_ms:.2f}" for result in results)
        print(f"{'PASS' if all(verdicts) else 'FAIL'}  {sum(verdicts)} of {args.runs} runs passed (p99 ms: {p99s})")
    return 0 if all(verdicts) else 1


def _report(result: Result, *, client: str, rate: float, run: int, runs: int) -> bool:
    """Print one run's figures and checks; whether it passed."""
    if runs > 1:
        print(f"--- run {run} of {runs}")
    print(f"client      {result.client}")
    print(f"requests    {result.requests} in {result.elapsed_s:.1f} s, {result.errors} error(s)")
    print(f"throughput  {result.throughput:,.0f} req/s")
    print(f"latency     p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, max {result.max_ms:.1f} ms")
    if result.client_cpu_s is not None:
        print(
            f"client CPU  {result.client_cpu_s:.1f} s ({result.client_cpu_s / result.elapsed_s:.0%} of one core, "
            "taken from the server's 2 cores)"
        )
    rate_ok = result.throughput >= TARGET_RATE * 0.98 and (client == "wrk" or rate >= TARGET_RATE)
    p99_ok = result.p99_ms < TARGET_P99_MS
    errors_ok = result.errors == 0
    print(f"{'PASS' if p99_ok else 'FAIL'}  p99 < {TARGET_P99_MS:g} ms: {result.p99_ms:.2f} ms")
    print(f"{'PASS' if rate_ok else 'FAIL'}  sustained >= {TARGET_RATE:,.0f} req/s: {result.throughput:,.0f} req/s")
    print(f"{'PASS' if errors_ok else 'FAIL'}  no error: {result.errors}")
    return p99_ok and rate_ok and errors_ok


if __name__ == "__main__":
    raise SystemExit(main())

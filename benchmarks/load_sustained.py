"""Sustained loopback load test of the finder and the main pages (60 s, bounded rate). Run on demand.

Usage::

    .venv/bin/python benchmarks/load_sustained.py                  # 60 s, 400 req/s in all
    .venv/bin/python benchmarks/load_sustained.py --rate 600 --duration 30
    .venv/bin/python benchmarks/load_sustained.py --worker-class gthread --workers 3 --threads 2

The script starts gunicorn itself on 127.0.0.1 (a free port, no rate limit, no access
log), then runs one ``wrk`` per endpoint **at the same time**, each held at its share of
``--rate`` (see ``load_common.py``), for ``--duration`` seconds, after a short warm-up.
It prints, per endpoint, the requests, errors (any non-2xx/3xx status, connection error
or 2 s timeout), throughput and p50/p99 latency, then PASS/FAIL: **zero errors** and
every endpoint within 5 % of its rate. Not a pytest test; needs ``wrk`` (Debian package)
and a database on which ``atlas access`` ran.

The mix (share of the rate): the finder's API search (60 %, all communes x filter
mixes), the results page of a search (10 %), the home page, "À propos", the planners'
map page, the commission's table, the commune search API and the indicators API (5 %
each).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_common import (
    HOST,
    MAX_DURATION_S,
    WORKER_CLASSES,
    WrkJob,
    database_url,
    free_port,
    gunicorn,
    wrk_many,
)

FILTERS = ("", "&mission=conseil", "&public=jeunes", "&mode=walk", "&mission=accompagnement&public=demandeurs_emploi")
PAGE_FILTERS = ("", "&mission=conseil", "&public=jeunes", "&mode=walk", "&jour=samedi")


def endpoint_paths(url: str, seed: int = 7) -> dict[str, tuple[float, list[str]]]:
    """Label -> (share of the rate, request paths)."""
    from storage import db

    with db.connect(url) as conn:
        communes = conn.execute("SELECT code, name FROM commune ORDER BY code").fetchall()
        zonings = [row[0] for row in conn.execute("SELECT zoning_id FROM zoning ORDER BY zoning_id").fetchall()]
        has_times = conn.execute("SELECT EXISTS (SELECT 1 FROM access_run)").fetchone() == (True,)
    if not communes or not has_times:
        msg = "run `atlas load` and `atlas access` on the database first"
        raise SystemExit(msg)
    rng = random.Random(seed)
    codes = [code for code, _ in communes]
    nearest = [f"/api/nearest?commune={c}&limit=10{f}" for c in codes for f in FILTERS]
    results = [f"/?commune={c}{f}" for c in codes for f in PAGE_FILTERS]
    names = [name for _, name in communes]
    prefixes = sorted({n[:4] for n in names})
    levels = ["region", "departement", "arrondissement", "epci"] + [f"zone:{z}" for z in zonings]
    indicators = [
        f"/api/indicators?level={lv}&mode={m}&category={c}"
        for lv in levels
        for m in ("drive", "walk")
        for c in ("any", "mission:conseil", "mission:accueil")
    ]
    diagnostic = [f"/diagnostic?level={lv}&mode={m}" for lv in levels for m in ("drive", "walk")]
    for paths in (nearest, results, indicators, diagnostic):
        rng.shuffle(paths)
    from urllib.parse import quote

    return {
        "GET /api/nearest": (0.60, nearest),
        "GET /?commune=... (results)": (0.10, results),
        "GET /": (0.05, ["/"]),
        "GET /a-propos": (0.05, ["/a-propos"]),
        "GET /carte": (0.05, ["/carte"]),
        "GET /diagnostic": (0.05, diagnostic),
        "GET /api/communes?q=": (0.05, [f"/api/communes?q={quote(p)}" for p in prefixes]),
        "GET /api/indicators": (0.05, indicators),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=400.0, help="requests per second, all endpoints together")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load (max 120)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (one per core)")
    parser.add_argument(
        "--worker-class",
        choices=WORKER_CLASSES,
        default="asgi",
        help="asgi: as atlas serve (default); sync or gthread: for comparison",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of paced load before measuring")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION_S or not 0 < args.rate <= 5_000:
        parser.error(f"--duration must be in (0, {MAX_DURATION_S:g}] and --rate in (0, 5000]")
    if not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")

    url = database_url()
    endpoints = endpoint_paths(url)
    port = free_port()
    rates = [share * args.rate for share, _paths in endpoints.values()]
    jobs = [
        WrkJob(paths, connections=max(2, min(16, round(rate / 25))), rate=rate, label=label)
        for (label, (_share, paths)), rate in zip(endpoints.items(), rates, strict=True)
    ]
    print(
        f"Atlas SPRO sustained load test on {HOST}:{port}, {os.cpu_count()} CPU(s), gunicorn {args.workers} "
        f"{args.worker_class} worker(s) x {args.threads} thread(s), {args.rate:g} req/s in all for {args.duration:g} s "
        f"({len(jobs)} wrk processes at once)"
    )
    with gunicorn(url, workers=args.workers, worker_class=args.worker_class, threads=args.threads, port=port):
        if args.warmup > 0:
            wrk_many(port, jobs, duration=args.warmup)
        results = wrk_many(port, jobs, duration=args.duration)

    width = max(len(job.label) for job in jobs)
    print(
        f"{'endpoint':<{width}}  {'target':>7}  {'req/s':>7}  {'requests':>8}  {'errors':>6}  {'p50 ms':>7}  "
        f"{'p99 ms':>7}  {'max ms':>7}"
    )
    ok = True
    total_requests = total_errors = 0
    for job, rate, result in zip(jobs, rates, results, strict=True):
        total_requests += result.requests
        total_errors += result.errors
        rate_ok = result.throughput >= 0.95 * rate
        ok = ok and rate_ok and result.errors == 0
        print(
            f"{job.label:<{width}}  {rate:7.0f}  {result.throughput:7.0f}  {result.requests:8d}  {result.errors:6d}  "
            f"{result.p50_ms:7.2f}  {result.p99_ms:7.2f}  {result.max_ms:7.1f}"
            f"{'' if rate_ok else '  (rate not held)'}"
        )
    elapsed = max(r.elapsed_s for r in results)
    print(
        f"{'all':<{width}}  {args.rate:7.0f}  {total_requests / elapsed:7.0f}  {total_requests:8d}  {total_errors:6d}"
    )
    print(f"{'PASS' if total_errors == 0 else 'FAIL'}  zero errors over {elapsed:.0f} s: {total_errors}")
    rates_ok = all(r.throughput >= 0.95 * rate for r, rate in zip(results, rates, strict=True))
    print(f"{'PASS' if rates_ok else 'FAIL'}  every endpoint held its rate (within 5 %)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

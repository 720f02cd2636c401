"""What the public sees during a reload: counts the incomplete answers (target 0).

Serves the application with gunicorn on 127.0.0.1 (as ``atlas serve`` does, the finder's
caches off so that every answer reads the database), then, while ``atlas refresh`` (or the
command given) reloads the database, two client threads loop over a commune's nearest
places (``/api/nearest``) and its access figures (``/api/communes/<code>/access``). An
answer is *incomplete* when it is not a 200, has no travel times (``times_available``
false: straight-line ranking only), or lacks a mode's categories. Prints the number of
answers, the incomplete ones and the latency percentiles during the reload.

    .venv/bin/python benchmarks/bench_reload.py                      # atlas refresh on the pilot
    .venv/bin/python benchmarks/bench_reload.py --command load       # atlas load alone
    .venv/bin/python benchmarks/bench_reload.py --command access

The database (``DATABASE_URL`` or the local cluster) must hold a Région on which ``atlas
access`` (and ``atlas gaps``) ran: the script checks it first. It is REWRITTEN by the reload.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

from load_common import HOST, ROOT, database_url, free_port, gunicorn

COMMUNES = ("35238", "29019", "22278", "56260")  # Rennes, Brest, Saint-Brieuc, Vannes


def answer(port: int, path: str) -> tuple[bool, float]:
    """(complete?, latency in ms) of one request."""
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}{path}", timeout=10) as response:
            body = json.loads(response.read())
            status = response.status
    except OSError:
        return False, (time.perf_counter() - started) * 1000
    latency = (time.perf_counter() - started) * 1000
    if status != 200:
        return False, latency
    if "/access" in path:
        modes = body.get("modes", {})
        return bool(modes) and all(m["categories"] for m in modes.values()), latency
    return bool(body.get("times_available")), latency


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--command", default="refresh", help="atlas subcommand run during the load (default refresh)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args(argv)
    url = database_url()
    port = free_port()
    paths = [p for code in COMMUNES for p in (f"/api/nearest?commune={code}&limit=5", f"/api/communes/{code}/access")]
    config = {"RESULT_CACHE_SIZE": 0, "CACHE_CHECK_S": 0.0, "CACHE_WARM": False}
    with gunicorn(url, workers=args.workers, port=port, config=config):
        before = [answer(port, p)[0] for p in paths]
        if not all(before):
            print("the database must hold times of both modes first (atlas access): some answers are incomplete")
            return 2
        results: list[tuple[bool, float]] = []
        stop = threading.Event()

        def loop(offset: int) -> None:
            i = offset
            while not stop.is_set():
                results.append(answer(port, paths[i % len(paths)]))
                i += 1

        threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        command = [sys.executable, "-m", "scripts.cli", args.command]
        done = subprocess.run(
            command, env={**os.environ, "DATABASE_URL": url}, cwd=ROOT, capture_output=True, text=True, check=False
        )
        elapsed = time.monotonic() - started
        stop.set()
        for thread in threads:
            thread.join()
    if done.returncode != 0:
        print(done.stderr)
        return done.returncode
    latencies = sorted(ms for _ok, ms in results)
    incomplete = sum(not ok for ok, _ms in results)

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    print(f"atlas {args.command}: {elapsed:.1f} s with {args.clients} clients reading")
    print(f"answers during the reload: {len(results)}")
    print(f"incomplete answers (no times, missing mode, error): {incomplete}  (target 0)")
    print(f"latency during the reload: p50 {pct(0.5):.1f} ms, p99 {pct(0.99):.1f} ms, max {latencies[-1]:.1f} ms")
    return 0 if incomplete == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

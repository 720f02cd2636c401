"""Bounded loopback load test of the public finder's search (``GET /api/nearest``). Run on demand.

Usage::

    .venv/bin/python benchmarks/load_finder.py                 # 10 s, 3 sync workers, wrk if installed
    .venv/bin/python benchmarks/load_finder.py --rate 500 --duration 5 --workers 3 --threads 2
    .venv/bin/python benchmarks/load_finder.py --client python  # force the Python client even if wrk exists

The script starts gunicorn itself on 127.0.0.1 (a free port; never another address), waits
for it, warms it up, sends a bounded number of requests, stops gunicorn and prints the
p50/p99 latency, the throughput and PASS/FAIL against the target: **p99 < 5 ms at
1000 req/s on 2 cores**. Not a pytest test.

Requests rotate over every commune of the Région with a mix of filters (no filter,
a mission, a public, walking), like real searches. The database is ``DATABASE_URL``,
else the project-local cluster; ``atlas access`` must have run on it (otherwise the
times fall back to straight-line distances and the script says so).

Clients:

- ``wrk`` (Debian package) when installed: closed loop, ``--connections`` keep-alive
  connections, latency percentiles from wrk's HdrHistogram. It sends as fast as the
  server answers, so the throughput it reports is the server's capacity; the target is
  met when that capacity is at least the rate and p99 is under the limit.
- otherwise a Python asyncio client: **open loop** at a constant arrival rate
  (``--rate``) over ``--connections`` keep-alive connections. Latency is measured from
  each request's *scheduled* time, so a slow server is not hidden by the client waiting
  (no coordinated omission). The client shares the 2 cores with the server: its own
  CPU use makes the figures pessimistic, and the script prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from settings import Settings  # noqa: E402

HOST = "127.0.0.1"  # loopback only, by design
TARGET_P99_MS = 5.0
TARGET_RATE = 1000.0
MAX_DURATION_S = 120.0
MAX_REQUESTS = 200_000
FILTERS = ("", "&mission=conseil", "&public=jeunes", "&mode=walk", "&mission=accompagnement&public=demandeurs_emploi")


@dataclass
class Result:
    """What one load run measured."""

    client: str
    requests: int
    errors: int
    elapsed_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    client_cpu_s: float | None = None

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed_s if self.elapsed_s else 0.0


def database_url() -> str:
    """``DATABASE_URL``, else the local cluster's URL (as ``atlas`` does)."""
    settings = Settings.from_env()
    if settings.database_url:
        return settings.database_url
    from storage.cluster import local_cluster

    return local_cluster(settings.var_dir).url()


def request_paths(url: str, seed: int = 42) -> tuple[list[str], bool]:
    """Shuffled search paths over every commune and filter mix; whether travel times exist."""
    from storage import db

    with db.connect(url) as conn:
        codes = [row[0] for row in conn.execute("SELECT code FROM commune ORDER BY code").fetchall()]
        has_times = conn.execute("SELECT count(*) FROM access_run").fetchone()[0] > 0
    if not codes:
        msg = "no commune in the database: run `atlas load` (and `atlas access`) first"
        raise SystemExit(msg)
    paths = [f"/api/nearest?commune={code}&limit=10{flt}" for code in codes for flt in FILTERS]
    random.Random(seed).shuffle(paths)
    return paths, has_times


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(url: str, *, workers: int, threads: int, port: int) -> Iterator[subprocess.Popen]:
    """gunicorn serving the app on ``HOST:port``, without access log; stopped on exit."""
    env = {**os.environ, "DATABASE_URL": url}
    argv = [
        sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}", "--workers", str(workers),
        "--worker-class", "gthread" if threads > 1 else "sync", "--threads", str(threads),
        "--keep-alive", "30", "--log-level", "warning", "webapp:create_app()",
    ]
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/api/health", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                msg = f"gunicorn did not start: {process.stderr.read() if process.stderr else ''}"
                raise SystemExit(msg)
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------- Python client
async def _connection_loop(
    port: int, queue: asyncio.Queue, latencies: list[float], errors: list[int]
) -> None:
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
WRK_SCRIPT = """
local paths = {}
for line in io.lines("%s") do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
done = function(summary, latency, requests)
  io.write(string.format("ATLAS requests=%%d errors=%%d duration_us=%%d p50_us=%%d p99_us=%%d max_us=%%d\\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def wrk_client(port: int, paths: list[str], *, duration: float, connections: int) -> Result:
    """Closed-loop load with wrk (capacity at ``connections`` concurrent keep-alive connections)."""
    with tempfile.TemporaryDirectory() as folder:
        listing = Path(folder) / "paths.txt"
        listing.write_text("\n".join(paths) + "\n", encoding="ascii")
        script = Path(folder) / "atlas.lua"
        script.write_text(WRK_SCRIPT % listing, encoding="ascii")
        seconds = max(1, min(int(MAX_DURATION_S), round(duration)))
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "2s", "-s", str(script),
                f"http://{HOST}:{port}/"]
        output = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    match = re.search(r"ATLAS requests=(\d+) errors=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) max_us=(\d+)",
                      output)
    if match is None:
        msg = f"unexpected wrk output:\n{output}"
        raise SystemExit(msg)
    requests, errors, duration_us, p50, p99, peak = (int(g) for g in match.groups())
    return Result(f"wrk (closed loop, {connections} connections)", requests, errors, duration_us / 1e6,
                  p50 / 1000, p99 / 1000, peak / 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="requests per second (Python client)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measured load (max 120)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread when > 1, else sync)")
    parser.add_argument("--connections", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--warmup", type=int, default=2000, help="requests sent before measuring")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION_S or not 0 < args.rate <= 20_000:
        parser.error(f"--duration must be in (0, {MAX_DURATION_S:g}] and --rate in (0, 20000]")
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    elif client == "wrk" and not shutil.which("wrk"):
        parser.error("wrk is not installed (apt-get install wrk)")

    url = database_url()
    paths, has_times = request_paths(url)
    port = free_port()
    print(f"Atlas SPRO finder load test: GET /api/nearest on {HOST}:{port}, {os.cpu_count()} CPU(s), "
          f"gunicorn {args.workers} worker(s) x {args.threads} thread(s), client {client}")
    if not has_times:
        print("NOTE: no accessibility run in this database (atlas access): the finder answers by straight line.")
    with gunicorn(url, workers=args.workers, threads=args.threads, port=port):
        python_client(port, paths, rate=max(200.0, args.rate / 2), duration=args.warmup / max(200.0, args.rate / 2),
                      connections=args.connections)
        if client == "wrk":
            result = wrk_client(port, paths, duration=args.duration, connections=args.connections)
        else:
            result = python_client(port, paths, rate=args.rate, duration=args.duration, connections=args.connections)

    print(f"client      {result.client}")
    print(f"requests    {result.requests} in {result.elapsed_s:.1f} s, {result.errors} error(s)")
    print(f"throughput  {result.throughput:,.0f} req/s")
    print(f"latency     p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms, max {result.max_ms:.1f} ms")
    if result.client_cpu_s is not None:
        print(f"client CPU  {result.client_cpu_s:.1f} s ({result.client_cpu_s / result.elapsed_s:.0%} of one core, "
              "taken from the server's 2 cores)")
    rate_ok = result.throughput >= TARGET_RATE * 0.98 and (client == "wrk" or args.rate >= TARGET_RATE)
    p99_ok = result.p99_ms < TARGET_P99_MS
    errors_ok = result.errors == 0
    print(f"{'PASS' if p99_ok else 'FAIL'}  p99 < {TARGET_P99_MS:g} ms: {result.p99_ms:.2f} ms")
    print(f"{'PASS' if rate_ok else 'FAIL'}  sustained >= {TARGET_RATE:,.0f} req/s: {result.throughput:,.0f} req/s")
    print(f"{'PASS' if errors_ok else 'FAIL'}  no error: {result.errors}")
    return 0 if p99_ok and rate_ok and errors_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

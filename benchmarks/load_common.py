"""Shared pieces of the loopback load tests (``load_finder.py``, ``load_sustained.py``).

- :func:`gunicorn`: the application served by gunicorn on 127.0.0.1 (a free port; never
  another address), without access log and without rate limit (every request of a load
  test comes from 127.0.0.1: the default 300/minute per client would refuse them);
- :func:`wrk_paced`: ``wrk`` (Debian package) held at a **constant rate**, as wrk2 does:
  each of the ``connections`` keep-alive connections waits the same delay
  (``connections / rate`` minus the measured service time) before each request, through
  wrk's Lua ``delay()`` hook, their phases spread at random over the first period. Latency
  is wrk's (HdrHistogram), measured from the moment a request is sent. Below the
  server's capacity this is the latency a user sees at that rate; when the server cannot
  keep up, the achieved rate falls short of the target, which the scripts report (the
  latency of requests the client did not send is not invented: a closed-loop generator
  hides queueing beyond its connections, so the rate must be checked too);
- :func:`wrk_closed`: wrk closed loop (as fast as the server answers: its capacity).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from settings import Settings  # noqa: E402

HOST = "127.0.0.1"  # loopback only, by design
MAX_DURATION_S = 120.0


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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def app_config(extra: dict | None = None) -> dict:
    """The application's configuration for a load test: no rate limit, plus ``extra``."""
    return {"RATELIMIT_API": "off", **(extra or {})}


@contextlib.contextmanager
def gunicorn(
    url: str, *, workers: int, threads: int, port: int, config: dict | None = None, worker_connections: int = 0,
) -> Iterator[subprocess.Popen]:
    """gunicorn serving the app on ``HOST:port``, without access log; stopped on exit.

    ``threads`` > 1 selects the ``gthread`` worker (keep-alive connections), else ``sync``
    (one request at a time per process, the connection closed after each response). The
    settings file ``webapp/gunicorn_conf.py`` is the one ``atlas serve`` should use
    (``TCP_DEFER_ACCEPT``: a worker only gets connections whose request has arrived).
    """
    env = {**os.environ, "DATABASE_URL": url}
    argv = [
        sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}", "--workers", str(workers),
        "--worker-class", "gthread" if threads > 1 else "sync", "--threads", str(threads),
        "--keep-alive", "30", "--log-level", "warning", "--config", "python:webapp.gunicorn_conf",
        f"webapp:create_app({app_config(config)!r})",
    ]
    if worker_connections:
        argv[-1:-1] = ["--worker-connections", str(worker_connections)]
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


WRK_SCRIPT = """
math.randomseed(%(seed)d)
local paths = {}
for line in io.lines("%(listing)s") do paths[#paths + 1] = line end
local i = math.random(#paths) - 1
local mean_delay = %(delay_ms).3f
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], {["Accept"] = "*/*"})
end
%(delay)s
done = function(summary, latency, requests)
  io.write(string.format("ATLAS requests=%%d errors=%%d duration_us=%%d p50_us=%%d p99_us=%%d max_us=%%d\\n",
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99), latency.max))
end
"""
DELAY_FUNCTION = """
local started = 0
delay = function()
  if started < %(connections)d then
    started = started + 1
    return math.random() * mean_delay
  end
  return mean_delay
end
"""
"""Constant rate, as wrk2 does: each connection waits the same delay before each request,
the connections' phases spread at random over the first period."""
RESULT_RE = re.compile(r"ATLAS requests=(\d+) errors=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) max_us=(\d+)")


@dataclass
class WrkJob:
    """One wrk run to start: paths rotated from a random offset, ``delay_ms`` (0: closed loop)."""

    paths: Sequence[str]
    connections: int
    delay_ms: float = 0.0
    label: str = ""


def _start(job: WrkJob, port: int, seconds: int, folder: Path, index: int) -> subprocess.Popen:
    listing = folder / f"paths-{index}.txt"
    listing.write_text("\n".join(job.paths) + "\n", encoding="ascii")
    script = folder / f"atlas-{index}.lua"
    delay = DELAY_FUNCTION % {"connections": job.connections} if job.delay_ms > 0 else ""
    values = {"listing": listing, "delay_ms": job.delay_ms, "seed": 7919 * (index + 1), "delay": delay}
    script.write_text(WRK_SCRIPT % values, encoding="ascii")
    argv = ["wrk", "-t1", f"-c{job.connections}", f"-d{seconds}s", "--timeout", "2s", "-s", str(script),
            f"http://{HOST}:{port}/"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # noqa: S603


def wrk_many(port: int, jobs: Sequence[WrkJob], *, duration: float) -> list[Result]:
    """Run every job at the same time for ``duration`` seconds (one wrk process each)."""
    seconds = max(1, min(int(MAX_DURATION_S), round(duration)))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        processes = [_start(job, port, seconds, folder, n) for n, job in enumerate(jobs)]
        outputs = [p.communicate(timeout=seconds + 60) for p in processes]
    results = []
    for job, process, (out, err) in zip(jobs, processes, outputs, strict=True):
        match = RESULT_RE.search(out)
        if process.returncode != 0 or match is None:
            msg = f"unexpected wrk output ({job.label}):\n{out}\n{err}"
            raise SystemExit(msg)
        requests, errors, duration_us, p50, p99, peak = (int(g) for g in match.groups())
        kind = f"wrk {'paced' if job.delay_ms else 'closed loop'}, {job.connections} connections"
        results.append(Result(kind, requests, errors, duration_us / 1e6, p50 / 1000, p99 / 1000, peak / 1000))
    return results


def wrk_closed(port: int, paths: Sequence[str], *, duration: float, connections: int) -> Result:
    """Closed-loop load with wrk (capacity at ``connections`` concurrent connections)."""
    return wrk_many(port, [WrkJob(paths, connections)], duration=duration)[0]


def paced_delays(port: int, jobs: Sequence[WrkJob], rates: Sequence[float], *, calibrate_s: float = 3.0,
                 rounds: int = 2) -> list[float]:
    """Per-connection delays (ms) that hold each job at its rate, calibrated on short runs.

    Each connection's cycle is its delay plus the request's service time: a run with a
    given delay measures the achieved rate, from which the service time is deduced and
    subtracted; ``rounds`` runs refine it. Nothing of these runs is reported.
    """
    periods = [job.connections * 1000.0 / rate for job, rate in zip(jobs, rates, strict=True)]
    delays = list(periods)
    for _round in range(rounds):
        trial = [WrkJob(job.paths, job.connections, delay, job.label) for job, delay in zip(jobs, delays, strict=True)]
        measured = wrk_many(port, trial, duration=calibrate_s)
        for n, (job, period, result) in enumerate(zip(jobs, periods, measured, strict=True)):
            cycle = job.connections * 1000.0 / max(result.throughput, 1e-6)
            delays[n] = max(0.0, delays[n] + period - cycle)
    return delays


def wrk_paced(port: int, paths: Sequence[str], *, rate: float, duration: float, connections: int) -> Result:
    """wrk held at ``rate`` requests per second (see the module docstring)."""
    job = WrkJob(paths, connections)
    delay = paced_delays(port, [job], [rate])[0]
    return wrk_many(port, [WrkJob(paths, connections, delay)], duration=duration)[0]

"""Shared pieces of the loopback load tests (``load_finder.py``, ``load_sustained.py``).

- :func:`gunicorn`: the application served by gunicorn on 127.0.0.1 (a free port; never
  another address) as ``atlas serve`` serves it, without access log and without rate
  limit (every request of a load test comes from 127.0.0.1: the default 300/minute per
  client would refuse them);
- :func:`wrk_paced`: ``wrk`` (Debian package) held at a **constant rate**, as wrk2 does:
  request *k* is due at ``start + k / rate``, whichever of the ``connections`` keep-alive
  connections is free takes it (wrk's Lua ``delay()`` hook waits until then, with a
  monotonic clock read through LuaJIT's FFI; wrk counts delays in whole milliseconds,
  so a request may leave up to 1 ms early, never late). When the server falls behind,
  the due requests leave at once, as real arrivals would. Latency is wrk's
  (HdrHistogram), measured from the moment a request is sent: below the server's
  capacity this is the latency a user sees at that rate; beyond it the achieved rate
  falls short of the target, which the scripts report (a generator limited to its
  connections hides queueing beyond them, so the rate must be checked too);
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

# A benchmark runs as a script: the project's modules (E402 below) import once its root is on the path.
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


WORKER_CLASSES = ("asgi", "sync", "gthread")
"""``asgi``: what ``atlas serve`` runs (``webapp/gunicorn_conf.py``, ``webapp.asgi``); the
others serve the Flask application directly, for comparison."""


@contextlib.contextmanager
def gunicorn(
    url: str,
    *,
    workers: int,
    port: int,
    worker_class: str = "asgi",
    threads: int = 1,
    config: dict | None = None,
) -> Iterator[subprocess.Popen]:
    """gunicorn serving the app on ``HOST:port``, without access log; stopped on exit.

    Started with ``webapp/gunicorn_conf.py``, the settings ``atlas serve`` uses: by default
    the same server as in production (``asgi`` worker, ``webapp.asgi``). ``sync`` (one
    request per process at a time, the connection closed after each response) and
    ``gthread`` (``threads`` per process, keep-alive) serve the Flask application
    directly, for comparison.
    """
    if worker_class not in WORKER_CLASSES:
        msg = f"worker class must be one of {WORKER_CLASSES}, got {worker_class!r}"
        raise SystemExit(msg)
    env = {**os.environ, "DATABASE_URL": url, "ATLAS_ACCESS_LOG": ""}
    factory = "webapp.asgi:create_app" if worker_class == "asgi" else "webapp:create_app"
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:webapp.gunicorn_conf",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--log-level",
        "warning",
        f"{factory}({app_config(config)!r})",
    ]
    if worker_class == "gthread":
        argv[-1:-1] = ["--threads", str(threads)]
    process = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/api/health", timeout=2) as response:
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
SCHEDULE_FUNCTION = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } atlas_timespec;
int clock_gettime(int clock_id, atlas_timespec *tp);
]]
local clock = ffi.new("atlas_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local period_ms = %(period_ms).6f
local due = nil
delay = function()
  local now = now_ms()
  if due == nil then due = now end
  due = due + period_ms
  local wait = due - now
  if wait < 0 then return 0 end
  return wait
end
"""
"""Constant rate: each request's due time is the previous one's plus ``period_ms``."""
RESULT_RE = re.compile(r"ATLAS requests=(\d+) errors=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+) max_us=(\d+)")


@dataclass
class WrkJob:
    """One wrk run to start: paths rotated from a random offset, at ``rate`` requests/s (0: closed loop)."""

    paths: Sequence[str]
    connections: int
    rate: float = 0.0
    label: str = ""


def _start(job: WrkJob, port: int, seconds: int, folder: Path, index: int) -> subprocess.Popen:
    listing = folder / f"paths-{index}.txt"
    listing.write_text("\n".join(job.paths) + "\n", encoding="ascii")
    script = folder / f"atlas-{index}.lua"
    delay = SCHEDULE_FUNCTION % {"period_ms": 1000.0 / job.rate} if job.rate > 0 else ""
    values = {"listing": listing, "seed": 7919 * (index + 1), "delay": delay}
    script.write_text(WRK_SCRIPT % values, encoding="ascii")
    argv = [
        "wrk",
        "-t1",
        f"-c{job.connections}",
        f"-d{seconds}s",
        "--timeout",
        "2s",
        "-s",
        str(script),
        f"http://{HOST}:{port}/",
    ]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


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
        kind = f"wrk {'paced' if job.rate else 'closed loop'}, {job.connections} connections"
        results.append(Result(kind, requests, errors, duration_us / 1e6, p50 / 1000, p99 / 1000, peak / 1000))
    return results


def wrk_closed(port: int, paths: Sequence[str], *, duration: float, connections: int) -> Result:
    """Closed-loop load with wrk (capacity at ``connections`` concurrent connections)."""
    return wrk_many(port, [WrkJob(paths, connections)], duration=duration)[0]


def wrk_paced(port: int, paths: Sequence[str], *, rate: float, duration: float, connections: int) -> Result:
    """wrk held at ``rate`` requests per second (see the module docstring)."""
    return wrk_many(port, [WrkJob(paths, connections, rate)], duration=duration)[0]

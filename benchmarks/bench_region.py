"""Région-scale benchmark of ``atlas network load`` + ``atlas access`` on a SYNTHETIC extract.

The extract is built by ``/work/shared/tools/synth_region_pbf.py`` (tiled copies of the real
Andorra network; NOT real data), for example::

    .venv/bin/python /work/shared/tools/synth_region_pbf.py --grid 12x8 \\
        -o var/bench/synthetic-region-12x8.osm.pbf

(1.55M drive nodes, 3.5M walk nodes, 39 MB; keep it under ``var/`` or ``/tmp``, never commit
it). The database must hold a loaded Région (``make load``: the Bretagne pilot, whose
communes the synthetic tiles cover). Each step runs as its own process, like a planner
would run it; the script prints its wall time and its peak resident memory (``ru_maxrss``
of the child process, so everything is counted: numpy, scipy's C heap, pyosmium's caches),
then PASS or FAIL against the goal of issue 13: both steps together under 60 s, and each
under 1 GB of peak RSS.

    .venv/bin/python benchmarks/bench_region.py var/bench/synthetic-region-12x8.osm.pbf [--repeat 2]

With ``--repeat N`` every step runs N times and the medians are judged. The machine is
shared: figures are noisy, compare runs made side by side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ATLAS = ROOT / ".venv" / "bin" / "atlas"
GOAL_SECONDS = 60.0
GOAL_RSS_BYTES = 1 << 30


def run_step(args: list[str]) -> tuple[float, float, int]:
    """Run ``atlas ARGS`` and return its wall time (s), CPU time (user + system, s) and peak RSS (bytes)."""
    started = time.monotonic()
    process = subprocess.Popen([str(ATLAS), *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stdout.write(output.decode(errors="replace"))
        msg = f"atlas {' '.join(args)} failed"
        raise SystemExit(msg)
    for line in output.decode(errors="replace").splitlines():
        if " s." in line:
            print(f"    {line.strip()}")
    return seconds, usage.ru_utime + usage.ru_stime, int(usage.ru_maxrss) * 1024


def main() -> int:
    """Run the benchmark and print PASS or FAIL; exit code 1 on FAIL."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pbf", type=Path, help="SYNTHETIC Région-scale extract (.osm.pbf)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step (medians are judged)")
    options = parser.parse_args()
    if not options.pbf.is_file():
        parser.error(f"{options.pbf}: not found (build it with synth_region_pbf.py, see --help)")
    steps = {
        "network load": ["network", "load", str(options.pbf.resolve())],
        "access (drive + walk)": ["access"],
    }
    figures: dict[str, list[tuple[float, float, int]]] = {name: [] for name in steps}
    for run in range(options.repeat):
        for name, args in steps.items():
            seconds, cpu, rss = run_step(args)
            figures[name].append((seconds, cpu, rss))
            print(
                f"run {run + 1}  {name:<22} {seconds:7.1f} s wall {cpu:7.1f} s CPU {rss / 2**20:7.0f} MiB peak RSS",
                flush=True,
            )
    total = total_cpu = 0.0
    peak = 0
    print(
        f"\nmedians over {options.repeat} run(s), file {options.pbf.name} (SYNTHETIC), load {os.getloadavg()[0]:.1f}:"
    )
    for name, values in figures.items():
        seconds = statistics.median(v[0] for v in values)
        cpu = statistics.median(v[1] for v in values)
        rss = int(statistics.median(v[2] for v in values))
        total += seconds
        total_cpu += cpu
        peak = max(peak, rss)
        print(f"  {name:<22} {seconds:7.1f} s wall {cpu:7.1f} s CPU {rss / 2**20:7.0f} MiB")
    ok = total < GOAL_SECONDS and peak < GOAL_RSS_BYTES
    print(
        f"  {'together':<22} {total:7.1f} s wall {total_cpu:7.1f} s CPU {peak / 2**20:7.0f} MiB peak"
        f"   goal < {GOAL_SECONDS:.0f} s and < {GOAL_RSS_BYTES / 2**20:.0f} MiB: {'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

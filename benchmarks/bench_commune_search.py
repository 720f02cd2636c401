"""Cost of the forgiving commune search (:func:`storage.read.search_communes`). Run on demand.

Usage::

    .venv/bin/python benchmarks/bench_commune_search.py            # 200 rounds per query
    .venv/bin/python benchmarks/bench_commune_search.py --rounds 50

The database is ``DATABASE_URL``, else the project-local cluster, with the pilot loaded
(``atlas load``). For queries of each level (same name, prefix, similar names, postcode,
EPCI, nothing) the statement runs ``--rounds`` times on one connection (psycopg prepares it
after 5 runs, as in the application); the median and the 99th percentile are printed, in
milliseconds. The web application keeps each answer in its LRU (``webapp.finder``), so a
repeated query costs no SQL at all; these are the figures of a first query.
"""

from __future__ import annotations

import argparse
import statistics
import time

from scripts.common import database_url
from settings import Settings
from storage import read
from storage.db import connect

QUERIES = (
    ("exact", "St Malo"),
    ("exact (commune déléguée)", "Lamballe"),
    ("prefix", "Quimp"),
    ("prefix, cut at 50", "Plou"),
    ("similar", "Renes"),
    ("similar", "Saint Brieux"),
    ("postcode", "22100"),
    ("EPCI", "Lamballe Terre et Mer"),
    ("name + postcode", "Quimper 29000"),
    ("nothing", "zzzzqq"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with connect(database_url(Settings.from_env())) as conn:
        print(f"{'query':<28} {'level':<26} {'found':>6} {'p50 ms':>8} {'p99 ms':>8}")
        for kind, query in QUERIES:
            times = []
            found = read.search_communes(conn, query)
            for _ in range(args.rounds):
                start = time.perf_counter()
                read.search_communes(conn, query)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"{query!r:<28} {kind:<26} {found['total']:>6} {statistics.median(times):>8.2f} {p99:>8.2f}")


if __name__ == "__main__":
    main()

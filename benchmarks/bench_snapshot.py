"""Time of a yearly snapshot and of the report served from it (run on demand, not by pytest).

Works on a throw-away copy (``CREATE DATABASE … TEMPLATE``) of the database at
``DATABASE_URL`` (default: the project-local cluster's), which must hold a loaded Région on
which ``atlas access`` ran; the copy is dropped at the end (snapshots are immutable, so the
source database is never written). Prints medians of ``--repeat`` runs:

- ``take_snapshot``: one snapshot (the copies and the JSONB document);
- ``changes``: the changes between two snapshots (what the report's section and
  ``/api/snapshots/<year>/changes`` compute once per pair, then keep in the data cache);
- ``report (warm)``: ``/diagnostic/rapport/<year>`` once the changes are cached.

    .venv/bin/python benchmarks/bench_snapshot.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import psycopg

from scripts.common import database_url
from settings import Settings
from storage import db, snapshot
from webapp.snapshots import changes_between


def _median(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:.0f} ms (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    source = database_url(Settings.from_env())
    name = f"atlas_bench_{uuid.uuid4().hex[:12]}"
    template = str(psycopg.conninfo.conninfo_to_dict(source)["dbname"])
    with psycopg.connect(source, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.Identifier(template)
            )
        )
    url = db.with_dbname(source, name)
    try:
        takes, changes, pages = [], [], []
        with db.connect(url) as conn:
            for i in range(args.repeat):
                started = time.perf_counter()
                snapshot.take_snapshot(conn, year=2090 + i)
                takes.append(time.perf_counter() - started)
            for i in range(1, args.repeat):
                started = time.perf_counter()
                after = snapshot.current(conn, 2090 + i)
                assert after is not None
                changes_between(conn, after["snapshot_id"], snapshot.previous_id(conn, 2090 + i))
                changes.append(time.perf_counter() - started)
        from webapp import create_app

        app = create_app({"DATABASE_URL": url, "TESTING": True})
        try:
            with app.test_client() as client:
                client.get(f"/diagnostic/rapport/{2090 + args.repeat - 1}")  # fills the cache
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    assert client.get(f"/diagnostic/rapport/{2090 + args.repeat - 1}").status_code == 200
                    pages.append(time.perf_counter() - started)
        finally:
            app.extensions["atlas_pool"].close()
        print(f"take_snapshot   {_median(takes)}")
        print(f"changes         {_median(changes)}")
        print(f"report (warm)   {_median(pages)}")
    finally:
        db.drop_database(source, name)


if __name__ == "__main__":
    main()

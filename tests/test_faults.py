"""Faults: a load killed mid-way, PostGIS stopped and restarted under the running app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from settings import PROJECT_ROOT
from storage import db
from tests.conftest import snapshot, store_sources


def test_a_load_killed_while_writing_leaves_the_previous_data(pilot_copy: str) -> None:
    """SIGKILL the real ``atlas load`` once its COPY is running: the old rows stay."""
    before = snapshot(pilot_copy)
    dbname = psycopg.conninfo.conninfo_to_dict(pilot_copy)["dbname"]
    env = {**os.environ, "DATABASE_URL": pilot_copy}
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "load", "--region", "53"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed_while_copying = False
    try:
        with db.connect(pilot_copy, autocommit=True) as watcher:
            deadline = time.monotonic() + 120
            while process.poll() is None and time.monotonic() < deadline:
                copying = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query ILIKE 'COPY %%'"
                    " AND pid <> pg_backend_pid()",
                    (dbname,),
                ).fetchone()[0]
                if copying:
                    process.send_signal(signal.SIGKILL)
                    killed_while_copying = True
                    break
                time.sleep(0.005)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    if not killed_while_copying:
        pytest.fail("the load finished before it could be killed while writing")
    # The server notices the lost client and rolls the transaction back.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with db.connect(pilot_copy) as conn:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            ).fetchone()[0]
        if not busy:
            break
        time.sleep(0.1)
    assert snapshot(pilot_copy) == before


@pytest.fixture
def own_cluster(tmp_path: Path, pilot_sources):
    """A private PostGIS cluster (so stopping it does not disturb other tests)."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("needs the project-local cluster (DATABASE_URL points at an external server)")
    from storage.cluster import local_cluster

    cluster = local_cluster(tmp_path / "var")
    cluster.up()
    store_sources(cluster.url(), pilot_sources)
    yield cluster
    cluster.down()


def test_app_answers_503_while_postgis_is_down_and_recovers_without_restart(own_cluster) -> None:
    from webapp import create_app

    app = create_app({"DATABASE_URL": own_cluster.url(), "TESTING": True, "POOL_TIMEOUT_S": 2.0})
    client = app.test_client()
    assert client.get("/").status_code == 200

    own_cluster.down()
    page = client.get("/")
    assert page.status_code == 503
    assert page.headers.get("Retry-After")
    text = page.get_data(as_text=True)
    assert "indisponible" in text.lower() and "Traceback" not in text
    api = client.get("/api/health")
    assert api.status_code == 503 and api.is_json

    own_cluster.up()
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        status = client.get("/").status_code
        if status == 200:
            break
        time.sleep(0.5)
    assert status == 200
    assert client.get("/api/health").status_code == 200

"""Shared fixtures: a real PostGIS server and throw-away databases (never a mock).

The server is ``DATABASE_URL`` when set, else the project-local cluster, started here if
needed. Each fixture database is created empty, used, then dropped.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from settings import PROJECT_ROOT, Settings
from storage import db
from storage.migrate import migrate

PILOT_DIR = PROJECT_ROOT / "data" / "bretagne"
TEST_DATA = Path(__file__).parent / "data"
CRS = "EPSG:2154"


@pytest.fixture(scope="session")
def server_url() -> str:
    """Connection string of a PostGIS server the tests may create databases on."""
    settings = Settings.from_env()
    if settings.database_url:
        return settings.database_url
    from storage.cluster import local_cluster

    cluster = local_cluster(settings.var_dir)
    cluster.up()
    return cluster.url()


def _throwaway(server_url: str) -> tuple[str, str]:
    name = f"atlas_test_{uuid.uuid4().hex[:12]}"
    return name, db.create_database(server_url, name)


@pytest.fixture
def empty_db(server_url: str) -> Iterator[str]:
    """URL of a new, empty database (no schema), dropped after the test."""
    name, url = _throwaway(server_url)
    yield url
    db.drop_database(server_url, name)


@pytest.fixture
def migrated_db(empty_db: str) -> str:
    """URL of a new database with the schema applied."""
    with db.connect(empty_db) as conn:
        migrate(conn)
    return empty_db


@pytest.fixture(scope="session")
def pilot_sources():
    """The Bretagne pilot read and validated in memory (once per session)."""
    from geo.sources.region import read_region_sources

    return read_region_sources(PILOT_DIR, crs=CRS, region="53")


def store_sources(url: str, sources) -> dict[str, int]:
    """Write ``sources`` (a ``RegionSources``) into the database at ``url``."""
    import datetime as dt

    from storage import load

    with db.connect(url) as conn:
        migrate(conn)
        return load.store_sources(conn, sources, started_at=dt.datetime.now(dt.UTC))


@pytest.fixture(scope="session")
def pilot_db(server_url: str, pilot_sources) -> Iterator[str]:
    """URL of a database holding the whole pilot; tests must not modify it."""
    name, url = _throwaway(server_url)
    store_sources(url, pilot_sources)
    yield url
    db.drop_database(server_url, name)


@pytest.fixture
def pilot_copy(server_url: str, pilot_db: str) -> Iterator[str]:
    """URL of a private copy of the pilot database, for tests that write."""
    name, url = copy_database(server_url, pilot_db)
    yield url
    db.drop_database(server_url, name)


def snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Row count and an MD5 checksum of the full content of every table of the schema."""
    result = {}
    with db.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys' "
                "ORDER BY tablename"
            ).fetchall()
        ]
        for table in tables:
            query = psycopg.sql.SQL(
                "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {} t"
            ).format(psycopg.sql.Identifier(table))
            result[table] = tuple(conn.execute(query).fetchone())
    return result


def atlas(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the real ``atlas`` command line against the database at ``url``."""
    env = {**os.environ, "DATABASE_URL": url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "scripts.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=PROJECT_ROOT,
    )


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def served(url: str, output: Path, **env: str) -> Iterator[int]:
    """The real ``atlas serve`` (one worker) on a free loopback port against the database at
    ``url``, everything it prints written to ``output``; yields the port once it accepts
    connections (no request is sent), stops the server on exit."""
    port = free_port()
    with output.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "scripts.cli", "serve", "--port", str(port), "--workers", "1"],
            env={**os.environ, "DATABASE_URL": url, **env},
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"atlas serve did not start: {output.read_text()}")
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="session")
def accessed_db(server_url: str, pilot_sources) -> Iterator[str]:
    """A pilot database on which ``atlas access`` ran (approximate graph: no OSM file);
    tests must not modify it (copy it with ``copy_database``)."""
    name, url = _throwaway(server_url)
    store_sources(url, pilot_sources)
    result = atlas(url, "access")
    assert result.returncode == 0, result.stderr
    yield url
    db.drop_database(server_url, name)


def copy_database(server_url: str, url: str) -> tuple[str, str]:
    """A copy of the database at ``url`` (``CREATE DATABASE ... TEMPLATE``): (name, url)."""
    name = f"atlas_test_{uuid.uuid4().hex[:12]}"
    template = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                psycopg.sql.Identifier(name), psycopg.sql.Identifier(template)
            )
        )
    return name, db.with_dbname(server_url, name)


@pytest.fixture
def accessed_copy(server_url: str, accessed_db: str) -> Iterator[str]:
    """URL of a private copy of ``accessed_db``, for tests that write."""
    name, url = copy_database(server_url, accessed_db)
    yield url
    db.drop_database(server_url, name)

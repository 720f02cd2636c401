"""One connection pool per application, one connection per request (psycopg_pool)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from flask import Flask, current_app, g
from psycopg_pool import ConnectionPool


def init_app(app: Flask) -> None:
    """Create the pool (opened lazily: the app starts even when PostGIS is down).

    Connections are read-only and in autocommit: every view only reads, so there is no
    BEGIN/ROLLBACK round trip per request. They are not checked with a query at each
    checkout either (one more round trip); a connection broken by a database restart
    fails its request with a 503 (``webapp.errors``) and the pool replaces it.
    """
    pool = ConnectionPool(
        app.config["DATABASE_URL"],
        min_size=1,
        max_size=app.config["POOL_MAX_SIZE"],
        timeout=app.config["POOL_TIMEOUT_S"],
        kwargs={
            "connect_timeout": 3,
            "autocommit": True,
            "options": "-c statement_timeout=5000 -c default_transaction_read_only=on",
        },
        open=False,
    )
    app.extensions["atlas_pool"] = pool


@contextmanager
def connection() -> Iterator[psycopg.Connection]:
    """A pooled read-only connection for the current request."""
    pool: ConnectionPool = current_app.extensions["atlas_pool"]
    if pool.closed:
        pool.open(wait=False)
    with pool.connection() as conn:
        yield conn


@contextmanager
def snapshot() -> Iterator[psycopg.Connection]:
    """A pooled read-only connection inside one REPEATABLE READ transaction.

    Every statement of the block sees the same publication (``storage.publish``), and
    :func:`webapp.cache.cached` serves only values memoised for that publication: a page
    never mixes a memoised value of the previous publication with rows of the new one (the
    KeyError a commune's access once raised while ``atlas access`` committed). One more
    round trip than :func:`connection` (``BEGIN``, and ``ROLLBACK`` at the end); the finder's
    hot path keeps :func:`connection`, its own statements carrying the version they read.
    """
    from storage.read import data_version
    from webapp.cache import data_cache

    current = g.get("atlas_snapshot") if g else None
    if current is not None:  # nested use (a cached layer around its view): the same snapshot
        yield current[0]
        return
    with connection() as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            version = data_version(conn)
            data_cache().observe(version)
            g.atlas_snapshot = (conn, version)
            yield conn
        finally:
            g.pop("atlas_snapshot", None)
            if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.execute("ROLLBACK")  # read only: nothing to commit


def snapshot_version(conn: psycopg.Connection) -> tuple[object, ...] | None:
    """The publication ``conn`` reads in, when it is the current request's :func:`snapshot`."""
    found = g.get("atlas_snapshot") if g else None
    return found[1] if found is not None and found[0] is conn else None

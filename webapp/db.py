"""One connection pool per application, one connection per request (psycopg_pool)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from flask import Flask, current_app
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

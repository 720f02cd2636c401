"""Connections to PostGIS (psycopg 3)."""

from __future__ import annotations

import psycopg
from psycopg import conninfo


def connect(url: str, *, autocommit: bool = False, connect_timeout: int = 10) -> psycopg.Connection:
    """Open a connection to ``url`` (a ``postgresql://`` URL or a libpq conninfo string)."""
    return psycopg.connect(url, autocommit=autocommit, connect_timeout=connect_timeout)


def with_dbname(url: str, dbname: str) -> str:
    """Return ``url`` pointing at another database of the same server."""
    params = conninfo.conninfo_to_dict(url)
    params["dbname"] = dbname
    return conninfo.make_conninfo("", **params)


def create_database(url: str, dbname: str) -> str:
    """Create ``dbname`` on the server of ``url`` and return its connection string."""
    with connect(url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname)))
    return with_dbname(url, dbname)


def drop_database(url: str, dbname: str) -> None:
    """Drop ``dbname`` (closing its other sessions first) on the server of ``url``."""
    with connect(url, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psycopg.sql.Identifier(dbname)))

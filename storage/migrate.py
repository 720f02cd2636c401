"""Versioned schema migrations: plain SQL files applied in order, recorded in a table.

Files are ``storage/migrations/NNNN_description.sql``. Each is applied once, in its own
transaction, and recorded in ``schema_migrations`` with its SHA-256; applying again is a
no-op. A recorded file whose content changed afterwards is an error (write a new
migration instead of editing an applied one).

A migration that adds data computed by Python (a rule that must stay in one place) names
its step in :data:`DATA_STEPS`; the step runs right after the file, in the same transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x41544C4153  # "ATLAS": serialises concurrent migrators


def _fill_commune_names(conn: psycopg.Connection) -> None:
    from storage.load import refresh_commune_names

    refresh_commune_names(conn)


DATA_STEPS: dict[str, Callable[[psycopg.Connection], None]] = {"0015": _fill_commune_names}
"""Version -> the Python step filling what its SQL file created (0015: the searchable names of
communes already loaded, keyed by :func:`geo.names.search_key`)."""


class MigrationError(RuntimeError):
    """The migrations on disk and in the database disagree."""


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def available_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Migrations on disk, sorted by version; refuse malformed names and duplicate versions."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            msg = f"{path}: migration files are named NNNN_description.sql"
            raise MigrationError(msg)
        found.append(Migration(match.group(1), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        msg = f"two migrations share a version in {directory}"
        raise MigrationError(msg)
    return found


def applied_migrations(conn: psycopg.Connection) -> dict[str, str]:
    """Version -> checksum of the migrations recorded in the database."""
    _ensure_table(conn)
    return dict(conn.execute("SELECT version, checksum FROM schema_migrations").fetchall())


def migrate(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations in order; return the versions applied (empty when up to date)."""
    applied_now = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        done = applied_migrations(conn)
        for migration in available_migrations(directory):
            if migration.version in done:
                if done[migration.version] != migration.checksum:
                    msg = (
                        f"migration {migration.path.name} was changed after being applied; add a new migration instead"
                    )
                    raise MigrationError(msg)
                continue
            with conn.transaction():
                conn.execute(migration.sql)
                step = DATA_STEPS.get(migration.version)
                if step is not None:
                    step(conn)
                conn.execute(
                    "INSERT INTO schema_migrations (version, filename, checksum) VALUES (%s, %s, %s)",
                    (migration.version, migration.path.name, migration.checksum),
                )
            applied_now.append(migration.version)
    return applied_now


def _ensure_table(conn: psycopg.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version    text PRIMARY KEY,
            filename   text NOT NULL,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
